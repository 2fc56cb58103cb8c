//! Tally's wire types, generated from `proto/tally/v1/*.proto`.
//!
//! Only `tally-model` (entries and documents) and `tally-p2p` (sync messages)
//! use these; prost types never cross `tally-model`'s public API.
//! [`schema`] describes the same messages field by field, for the wire
//! scanner that decides which bytes are well-formed before prost decodes them.

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/tally.v1.rs"));
}

/// The fields of every message, generated from the `.proto` files.
pub mod schema {
    /// How a field is encoded, as far as well-formedness goes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// Varint 0 or 1.
        Bool,
        /// Varint below 2^32.
        Uint32,
        /// Any varint of at most 10 bytes (uint64, int64, enums).
        Varint64,
        /// Length-delimited, valid UTF-8.
        String,
        /// Length-delimited.
        Bytes,
        /// Length-delimited, itself a message of type [`Field::message`].
        Message,
    }

    #[derive(Debug)]
    pub struct Field {
        pub number: u32,
        pub kind: Kind,
        pub repeated: bool,
        /// Full name of the message type (`.tally.v1.Party`), for [`Kind::Message`].
        pub message: &'static str,
        /// Index of the oneof the field belongs to, if any.
        pub oneof: Option<i32>,
    }

    #[derive(Debug)]
    pub struct Message {
        pub name: &'static str,
        pub fields: &'static [Field],
    }

    include!(concat!(env!("OUT_DIR"), "/schema.rs"));

    /// The message called `name` (`.tally.v1.Entry`).
    pub fn message(name: &str) -> Option<&'static Message> {
        MESSAGES.iter().find(|m| m.name == name)
    }
}

pub use prost::Message;
