//! A seal's text as a QR code: alphanumeric mode (Base45 and the prefix
//! use only QR's alphanumeric characters), error correction Q, at most
//! version 25, drawn as SVG to print at least 60 mm wide.

use qrcode::{Color, EcLevel, QrCode, Version};

/// The largest QR version a seal may need.
pub const MAX_VERSION: i16 = 25;
/// The narrowest a printed seal may be.
pub const MIN_WIDTH_MM: u32 = 60;

/// A seal's QR code.
#[derive(Debug, Clone)]
pub struct Qr {
    pub version: i16,
    /// Modules per side.
    pub width: usize,
    dark: Vec<bool>,
}

/// Why a text does not fit a seal's QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QrError(pub String);

/// The QR code of a seal's text.
pub fn qr(text: &str) -> Result<Qr, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q).map_err(|e| {
        QrError(format!(
            "the seal needs more than any QR code holds ({e:?}), above the limit of {MAX_VERSION}"
        ))
    })?;
    let version = match code.version() {
        Version::Normal(v) => v,
        Version::Micro(_) => return Err(QrError("a micro QR code is no seal".into())),
    };
    if version > MAX_VERSION {
        return Err(QrError(format!(
            "the seal needs QR version {version}, above the limit of {MAX_VERSION}"
        )));
    }
    Ok(Qr {
        version,
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
    })
}

impl Qr {
    /// Whether the module at (`x`, `y`) is dark.
    pub fn dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// An SVG of the code with a quiet zone of 4 modules, `width_mm` wide
    /// (at least [`MIN_WIDTH_MM`]).
    pub fn svg(&self, width_mm: u32) -> String {
        let side = self.width + 8;
        let mut path = String::new();
        for y in 0..self.width {
            for x in 0..self.width {
                if self.dark(x, y) {
                    path.push_str(&format!("M{} {}h1v1h-1z", x + 4, y + 4));
                }
            }
        }
        let mm = width_mm.max(MIN_WIDTH_MM);
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{mm}mm\" height=\"{mm}mm\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
        )
    }
}
