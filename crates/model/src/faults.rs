//! Every fault of a document, each at a JSON pointer (RFC 6901) into it:
//! what a 422 answer lists in `details`, so an officer (or an import) sees
//! all that is wrong at once. The rules push here and go on; the first fault
//! pushed is the one the single-fault rule has always reported
//! ([`crate::validate::validate_license`]), so a document is accepted or
//! refused exactly as before, for the same reason.

/// One fault: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fault {
    /// RFC 6901, into the document as sent (`/items/0/serials/3`); `""`
    /// is the whole document.
    pub pointer: String,
    pub message: String,
}

/// The faults found so far, at most `limit` of them kept (a hostile
/// document may hold a hundred thousand bad serials: the rules still run
/// over every one, the answer lists the first ones).
#[derive(Debug)]
pub struct Faults {
    found: Vec<Fault>,
    limit: usize,
}

/// Faults a 422 lists at most.
pub const MAX_FAULTS: usize = 100;

impl Faults {
    pub fn new(limit: usize) -> Faults {
        Faults {
            found: Vec::new(),
            limit,
        }
    }

    /// Notes a fault at `at`.
    pub fn add(&mut self, at: At<'_>, message: impl Into<String>) {
        if self.found.len() < self.limit {
            self.found.push(Fault {
                pointer: at.render(),
                message: message.into(),
            });
        }
    }

    /// Notes `checked`'s fault at `at`, if it has one; its value otherwise.
    pub fn check<T>(&mut self, at: At<'_>, checked: Result<T, crate::Invalid>) -> Option<T> {
        match checked {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(at, e.0);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub fn into_vec(self) -> Vec<Fault> {
        self.found
    }
}

/// A place in a document, built as the rules descend and rendered only
/// when a fault is found there (a valid document costs no string).
#[derive(Clone, Copy)]
pub struct At<'a> {
    parent: Option<&'a At<'a>>,
    step: Step<'a>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> At<'a> {
    /// The whole document.
    pub fn root() -> At<'static> {
        At {
            parent: None,
            step: Step::Root,
        }
    }

    /// The member `key` of the object here.
    pub fn key<'b>(&'b self, key: &'b str) -> At<'b> {
        At {
            parent: Some(self),
            step: Step::Key(key),
        }
    }

    /// The element `index` of the array here.
    pub fn index<'b>(&'b self, index: usize) -> At<'b> {
        At {
            parent: Some(self),
            step: Step::Index(index),
        }
    }

    /// RFC 6901: each step as `/` and the key with `~` as `~0` and `/` as `~1`.
    pub fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(a) = at {
            steps.push(a.step);
            at = a.parent;
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Root => {}
                Step::Key(k) => {
                    out.push('/');
                    out.push_str(&k.replace('~', "~0").replace('/', "~1"));
                }
                Step::Index(i) => {
                    out.push('/');
                    out.push_str(&i.to_string());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_render_as_rfc_6901() {
        let root = At::root();
        assert_eq!(root.render(), "");
        let items = root.key("items");
        let line = items.index(3);
        assert_eq!(line.key("serials").index(0).render(), "/items/3/serials/0");
        assert_eq!(root.key("a/b~c").render(), "/a~1b~0c");
    }

    #[test]
    fn at_most_the_limit_is_kept() {
        let mut f = Faults::new(2);
        for i in 0..5 {
            f.add(At::root().index(i), format!("fault {i}"));
        }
        let found = f.into_vec();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].pointer, "/0");
    }
}
