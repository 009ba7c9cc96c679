//! The change messages a writer publishes and a replica applies.
//!
//! One message is lines of `+ORIGIN` (added) and `-ORIGIN` (removed), in
//! order. A message that is only `*` asks every replica for a full resync
//! (bulk loads publish that instead of a million lines). Anything else is
//! treated like `*`: a replica that cannot read a message reloads the set
//! rather than guess.

/// What one message asks a replica to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Apply these additions, then these removals.
    Delta {
        /// Members added.
        add: Vec<String>,
        /// Members removed.
        remove: Vec<String>,
    },
    /// Reload the whole set.
    Resync,
}

/// Past this many members, a writer publishes [`Change::Resync`] instead
/// of every member.
pub const MAX_DELTA: usize = 10_000;

impl Change {
    /// Reads a message.
    pub fn parse(payload: &str) -> Change {
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for line in payload.lines().filter(|l| !l.is_empty()) {
            match line.split_at(1) {
                ("+", member) => add.push(member.to_owned()),
                ("-", member) => remove.push(member.to_owned()),
                _ => return Change::Resync,
            }
        }
        if add.is_empty() && remove.is_empty() {
            return Change::Resync;
        }
        Change::Delta { add, remove }
    }

    /// The message for adding `add` and removing `remove`.
    pub fn encode(add: &[String], remove: &[String]) -> String {
        if add.len() + remove.len() > MAX_DELTA {
            return "*".to_owned();
        }
        let mut out = String::new();
        for (sign, members) in [('+', add), ('-', remove)] {
            for m in members {
                out.push(sign);
                out.push_str(m);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_falls_back_to_resync() {
        let add = vec!["https://a.example".to_owned()];
        let remove = vec!["https://b.example".to_owned()];
        let msg = Change::encode(&add, &remove);
        assert_eq!(msg, "+https://a.example\n-https://b.example\n");
        assert_eq!(Change::parse(&msg), Change::Delta { add, remove });
        assert_eq!(Change::parse("*"), Change::Resync);
        assert_eq!(Change::parse("garbage"), Change::Resync);
        assert_eq!(Change::parse(""), Change::Resync);
        let many: Vec<String> = (0..=MAX_DELTA).map(|i| i.to_string()).collect();
        assert_eq!(Change::encode(&many, &[]), "*");
    }
}
