//! The token's user PIN, read from a file (a systemd `LoadCredential`
//! credential, docs/OPERATIONS.md).

use cryptoki::types::AuthPin;
use std::path::Path;
use zeroize::Zeroizing;

/// Why a PIN file could not be used. Never carries the PIN or a part of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinFileError {
    #[error("cannot read the PIN file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the PIN file {path} is empty")]
    Empty { path: String },
    #[error("the PIN file {path} is not UTF-8 text")]
    NotText { path: String },
}

/// Reads the PIN from `path`, with one trailing newline stripped (an editor
/// or `echo` adds one; a PIN with more than one, or with other trailing
/// white space, is taken as written). The bytes read are zeroed once copied
/// into the PIN.
pub fn read_pin_file(path: &Path) -> Result<AuthPin, PinFileError> {
    let shown = path.display().to_string();
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| PinFileError::Read {
        path: shown.clone(),
        source,
    })?);
    let pin = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if pin.is_empty() {
        return Err(PinFileError::Empty { path: shown });
    }
    let text = std::str::from_utf8(pin).map_err(|_| PinFileError::NotText { path: shown })?;
    Ok(AuthPin::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn pin_of(content: &[u8]) -> Result<AuthPin, PinFileError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pin");
        std::fs::write(&path, content).expect("write");
        read_pin_file(&path)
    }

    #[test]
    fn one_trailing_newline_is_stripped_and_only_one() {
        assert_eq!(pin_of(b"1234\n").expect("pin").expose_secret(), "1234");
        assert_eq!(pin_of(b"1234").expect("pin").expose_secret(), "1234");
        assert_eq!(pin_of(b"1234\n\n").expect("pin").expose_secret(), "1234\n");
        assert_eq!(
            pin_of(b" 12 34 \n").expect("pin").expose_secret(),
            " 12 34 "
        );
    }

    #[test]
    fn empty_missing_and_binary_files_are_errors_that_do_not_show_the_pin() {
        assert!(matches!(pin_of(b"\n"), Err(PinFileError::Empty { .. })));
        assert!(matches!(pin_of(b""), Err(PinFileError::Empty { .. })));
        let err = pin_of(b"12\xff34\n").expect_err("not text");
        assert!(matches!(err, PinFileError::NotText { .. }));
        assert!(!err.to_string().contains("12"));
        assert!(matches!(
            read_pin_file(Path::new("/nonexistent/pin")),
            Err(PinFileError::Read { .. })
        ));
    }
}
