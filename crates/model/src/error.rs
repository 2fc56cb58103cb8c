//! Why bytes are not what they claim to be (an entry, a document, a proof).

/// Why bytes are not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("not a protobuf message: {0}")]
    Protobuf(String),
    #[error("entry too large: {0} bytes")]
    TooLarge(usize),
    #[error("malformed field {field}: {reason}")]
    Field { field: &'static str, reason: String },
}
