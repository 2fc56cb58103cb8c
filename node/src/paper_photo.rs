//! A seal read from a photo (`tally paper verify photo.jpg`): a PNG or
//! JPEG (told by its first bytes, not its name) decoded within bounds,
//! made grey, and searched for QR codes; the first whose text is a seal's
//! (`TLY1:`) is the answer. The verdict is then the text's, as if typed.
//!
//! The bounds keep a hostile file from exhausting memory or time: at most
//! [`MAX_FILE_BYTES`] read, at most [`MAX_PIXELS`] and [`MAX_SIDE`] a side
//! (refused from the header, before the pixels are decoded), and the
//! decoder's own allocations capped at [`MAX_ALLOC`]. A photo larger than
//! [`WORK_SIDE`] on its long side is searched first at that size (a seal
//! printed 60 mm wide on a photographed page keeps 4 pixels or more per
//! module), then, when nothing reads there, at its own size, and a small
//! one ([`DOUBLE_BELOW`]) at twice and one and a half times its size too;
//! last in black and white by the mean around each pixel, for light that
//! varies across the photo.
//! QR codes are found and read by quircs (quirc's algorithm: one Otsu
//! threshold for the whole image, finder patterns, a perspective fit).
//!
//! Measured in the test build (dependencies optimised): a 452x452 photo of
//! a seal turned 4 degrees reads in 12 ms as PNG, 100 ms as JPEG (found at
//! a later attempt); a 4000x3000 JPEG of a page in 0.23 s; a 4000x3000
//! photo of noise is refused ("no seal could be read") in 1.9 s.

use image::{GrayImage, ImageDecoder as _, ImageFormat};
use std::io::Read as _;
use std::path::Path;

/// The largest photo file read (48 MiB).
pub const MAX_FILE_BYTES: u64 = 48 << 20;
/// The most pixels a photo may have (40 megapixels).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The longest side a photo may have, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// What the image decoder may allocate at once (256 MiB): a 40-megapixel
/// colour photo needs 120 MiB.
pub const MAX_ALLOC: u64 = 256 << 20;
/// The long side a large photo is first searched at.
pub const WORK_SIDE: u32 = 3_000;
/// A photo whose long side is at most this is also searched at twice its
/// size: a seal of 3 to 5 pixels a module, turned a few degrees, is often
/// found only there (the finder patterns' edges are smoother).
pub const DOUBLE_BELOW: u32 = 2_000;

/// What a file holds, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Png,
    Jpeg,
    /// Anything else: read as a seal's text.
    Other,
}

/// What `bytes` hold, by their signature (PNG's eight bytes, JPEG's SOI
/// marker followed by a marker).
pub fn content(bytes: &[u8]) -> Content {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Content::Png
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Content::Jpeg
    } else {
        Content::Other
    }
}

/// Why no seal came out of a photo.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is larger than {MAX_FILE_BYTES} bytes")]
    FileTooLarge,
    #[error("the photo is too large to read ({0}): at most {MAX_PIXELS} pixels, {MAX_SIDE} a side")]
    TooLarge(String),
    #[error("the photo cannot be decoded: {0}")]
    Unreadable(String),
    #[error("no seal could be read in this photo{0}")]
    NoSeal(String),
}

/// Reads the file at `path`, at most [`MAX_FILE_BYTES`] of it.
pub fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context as _;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

/// The seal's text (`TLY1:...`) in the photo `bytes` (PNG or JPEG).
pub fn seal_text(bytes: &[u8]) -> Result<String, PhotoError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(PhotoError::FileTooLarge);
    }
    find_seal(&decode(bytes)?)
}

/// The seal's text among the QR codes in the grey photo `grey`.
pub fn find_seal(grey: &GrayImage) -> Result<String, PhotoError> {
    use std::borrow::Cow;
    let mut others = Vec::new();
    let long = grey.width().max(grey.height());
    let small = long <= DOUBLE_BELOW;
    // What the later attempts work on: the photo, or it at WORK_SIDE.
    let thumb = (long > WORK_SIDE).then(|| {
        let (w, h) = scaled(grey.width(), grey.height(), WORK_SIDE);
        image::imageops::thumbnail(grey, w, h)
    });
    let work = thumb.as_ref().unwrap_or(grey);
    // Larger by `halves` halves (3: one and a half times, 4: twice).
    let larger = |g: &GrayImage, halves: u32| {
        let (w, h) = (g.width() * halves / 2, g.height() * halves / 2);
        image::imageops::resize(g, w, h, image::imageops::FilterType::Triangle)
    };
    for attempt in 0..6 {
        let image: Cow<GrayImage> = match attempt {
            0 => Cow::Borrowed(work),
            1 if thumb.is_some() => Cow::Borrowed(grey),
            // Module edges fall elsewhere on a finer grid of pixels.
            2 if small => Cow::Owned(larger(grey, 4)),
            3 if small => Cow::Owned(larger(grey, 3)),
            // Light that varies across the photo (a shadow over the page)
            // defeats one threshold for the whole image: each pixel is
            // then judged against the mean around it.
            4 => Cow::Owned(binarized(work)),
            5 if small => Cow::Owned(binarized(&larger(grey, 4))),
            _ => continue,
        };
        if let Some(text) = search(&image, &mut others)? {
            return Ok(text);
        }
    }
    others.sort();
    others.dedup();
    let hint = match others.first() {
        None => String::new(),
        Some(first) => format!(
            " ({} QR code(s) read, none a seal: the first reads {:?})",
            others.len(),
            first.chars().take(40).collect::<String>()
        ),
    };
    Err(PhotoError::NoSeal(hint))
}

/// `grey` in black and white, each pixel black when darker than 95% of
/// the mean of the square around it (a side of an eighth of the photo's
/// long side): what a seal looks like under light that varies across it.
fn binarized(grey: &GrayImage) -> GrayImage {
    let (w, h) = (grey.width() as usize, grey.height() as usize);
    let r = (w.max(h) / 16).max(4);
    // Box means, rows then columns, with running sums (u32: 255 x 2r+1 fits).
    let mut rows = vec![0u8; w * h];
    for y in 0..h {
        let row = &grey.as_raw()[y * w..(y + 1) * w];
        let mut sum: u32 = row[..r.min(w)].iter().map(|&p| u32::from(p)).sum();
        for x in 0..w {
            if x + r < w {
                sum += u32::from(row[x + r]);
            }
            if x > r {
                sum -= u32::from(row[x - r - 1]);
            }
            let n = (x + r).min(w - 1) + 1 - x.saturating_sub(r);
            rows[y * w + x] = u8::try_from(sum / n as u32).unwrap_or(u8::MAX);
        }
    }
    let row = |y: usize| &rows[y * w..(y + 1) * w];
    let mut sums: Vec<u32> = vec![0; w];
    let add = |sums: &mut [u32], row: &[u8]| {
        for (s, &p) in sums.iter_mut().zip(row) {
            *s += u32::from(p);
        }
    };
    for y in 0..r.min(h) {
        add(&mut sums, row(y));
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        if y + r < h {
            add(&mut sums, row(y + r));
        }
        if y > r {
            for (s, &p) in sums.iter_mut().zip(row(y - r - 1)) {
                *s -= u32::from(p);
            }
        }
        let n = ((y + r).min(h - 1) + 1 - y.saturating_sub(r)) as u32;
        let pixels = &grey.as_raw()[y * w..(y + 1) * w];
        for ((o, &p), &s) in out[y * w..(y + 1) * w].iter_mut().zip(pixels).zip(&sums) {
            *o = if u32::from(p) * 100 < s / n * 95 {
                0
            } else {
                255
            };
        }
    }
    GrayImage::from_raw(grey.width(), grey.height(), out).unwrap_or_else(|| grey.clone())
}

/// `width` x `height` scaled down so that the long side is `side`.
fn scaled(width: u32, height: u32, side: u32) -> (u32, u32) {
    let long = u64::from(width.max(height)).max(1);
    let w = u64::from(width) * u64::from(side) / long;
    let h = u64::from(height) * u64::from(side) / long;
    (
        u32::try_from(w.max(1)).unwrap_or(side),
        u32::try_from(h.max(1)).unwrap_or(side),
    )
}

/// The photo in grey, refused from its header when it is too large.
fn decode(bytes: &[u8]) -> Result<GrayImage, PhotoError> {
    let format = match content(bytes) {
        Content::Png => ImageFormat::Png,
        Content::Jpeg => ImageFormat::Jpeg,
        Content::Other => {
            return Err(PhotoError::Unreadable("neither a PNG nor a JPEG".into()));
        }
    };
    let unreadable = |e: image::ImageError| match e {
        image::ImageError::Limits(e) => {
            PhotoError::TooLarge(format!("{e}; the decoder may use {MAX_ALLOC} bytes"))
        }
        e => PhotoError::Unreadable(e.to_string()),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(e) => PhotoError::TooLarge(e.to_string()),
        e => unreadable(e),
    })?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width.max(height) > MAX_SIDE {
        return Err(PhotoError::TooLarge(format!("{width}x{height} pixels")));
    }
    if width == 0 || height == 0 {
        return Err(PhotoError::Unreadable("the photo has no pixels".into()));
    }
    let photo = image::DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    Ok(photo.into_luma8())
}

/// The first seal among the QR codes found in `grey`; the text of the
/// others goes to `others`. The QR decoder is a third party's: should it
/// panic on a crafted photo, the photo is unreadable, not the process gone.
fn search(grey: &GrayImage, others: &mut Vec<String>) -> Result<Option<String>, PhotoError> {
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut quirc = quircs::Quirc::default();
        let (w, h) = (grey.width() as usize, grey.height() as usize);
        quirc
            .identify(w, h, grey.as_raw())
            .filter_map(|code| code.ok()?.decode().ok())
            .map(|data| String::from_utf8_lossy(&data.payload).into_owned())
            .collect::<Vec<String>>()
    }))
    .map_err(|_| PhotoError::Unreadable("the QR decoder failed on this photo".into()))?;
    let mut seal = None;
    for text in found {
        let text = text.trim().to_owned();
        if seal.is_none() && text.starts_with("TLY1:") {
            seal = Some(text);
        } else {
            others.push(text);
        }
    }
    Ok(seal)
}

#[cfg(test)]
mod tests;
