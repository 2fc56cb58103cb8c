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
//! one ([`DOUBLE_BELOW`]) at twice its size too. QR codes are found and
//! read by quircs (quirc's algorithm: a global Otsu threshold, finder
//! patterns, a perspective fit).

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
    let mut others = Vec::new();
    let long = grey.width().max(grey.height());
    if long > WORK_SIDE {
        let (w, h) = scaled(grey.width(), grey.height(), WORK_SIDE);
        let small = image::imageops::thumbnail(grey, w, h);
        if let Some(text) = search(&small, &mut others)? {
            return Ok(text);
        }
    }
    if let Some(text) = search(grey, &mut others)? {
        return Ok(text);
    }
    if long <= DOUBLE_BELOW {
        let (w, h) = (grey.width() * 2, grey.height() * 2);
        let double = image::imageops::resize(grey, w, h, image::imageops::FilterType::Triangle);
        if let Some(text) = search(&double, &mut others)? {
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
