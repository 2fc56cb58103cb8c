//! The request deadlines of docs/API.md: the server enforces them, the
//! body extractor and the error answers name them.

use std::time::Duration;

/// docs/API.md: a connection whose request headers have not arrived within
/// this long is closed (idle keep-alive connections included).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// docs/API.md: a request body must arrive within this long of its
/// headers; a slower one is refused (408 `request_timeout`) and its
/// connection closed.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
