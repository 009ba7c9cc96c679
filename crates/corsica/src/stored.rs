//! [`StoredOrigins`]: the members of a store's origin set, each validated
//! under one policy's [`OriginRules`], compiled for lookups that never
//! allocate; and [`LiveOrigins`], the slot a store's sync task swaps new
//! snapshots into while requests read the current one.
//!
//! Exact origins live in a hash set of their bytes, looked up by the raw
//! `Origin` header bytes (valid exact entries are already byte-for-byte what
//! browsers send, so no normalisation happens on a request). Patterns and
//! `null` are compiled into an [`OriginSet`] whose size is capped at
//! [`MAX_PATTERNS`], so matching stays bounded.
//!
//! A change to a million-member set should not copy a million members, so a
//! snapshot is a shared, immutable base plus a small overlay of exact
//! origins added and removed since; the overlay is folded into a new base
//! once it grows past a fraction of the base ([`StoredOrigins::with_changes`]).

use std::collections::HashSet;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::diagnostic::Diagnostic;
use crate::origin_set::OriginSet;
use crate::pattern::OriginEntry;
use crate::policy::{CheckedOrigin, OriginRules};

/// The most patterns (and `null`) a stored set may hold; past it, further
/// patterns are refused as invalid, so that matching an origin that no
/// exact member has stays bounded.
pub const MAX_PATTERNS: usize = 1000;

/// The smallest overlay that triggers folding it into the base.
const MIN_FOLD: usize = 4096;

/// A member the policy's rules refused, with why.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The member as stored.
    pub member: String,
    /// Why it is refused and how to fix it (errors, in `lint`'s shape).
    pub diagnostics: Vec<Diagnostic>,
}

/// A snapshot of a store's set, validated under one policy's rules.
#[derive(Debug, Clone)]
pub struct StoredOrigins {
    rules: OriginRules,
    base: Arc<HashSet<Box<[u8]>>>,
    /// Exact origins added since `base`; never in `base`.
    added: HashSet<Box<[u8]>>,
    /// Exact origins of `base` removed since; always in `base`.
    removed: HashSet<Box<[u8]>>,
    /// Patterns and `null`, as stored, with their parsed entries.
    patterns: Arc<Vec<(String, OriginEntry)>>,
    compiled_patterns: Arc<OriginSet>,
    /// Members refused by the rules, as stored.
    invalid: Arc<HashSet<Box<str>>>,
}

impl StoredOrigins {
    /// An empty set under `rules`: what a replica has before its first sync.
    pub fn empty(rules: OriginRules) -> Self {
        StoredOrigins {
            rules,
            base: Arc::default(),
            added: HashSet::new(),
            removed: HashSet::new(),
            patterns: Arc::default(),
            compiled_patterns: Arc::default(),
            invalid: Arc::default(),
        }
    }

    /// Validates and compiles every member. Refused members are left out
    /// and returned, each with its diagnostics.
    pub fn build<S: AsRef<str>>(
        rules: OriginRules,
        members: impl IntoIterator<Item = S>,
    ) -> (Self, Vec<Refused>) {
        let members = members.into_iter();
        let mut exact = HashSet::with_capacity(members.size_hint().0);
        let mut patterns = Vec::new();
        let mut invalid = HashSet::new();
        let mut refused = Vec::new();
        for member in members {
            let member = member.as_ref();
            match check(&rules, member, patterns.len()) {
                Ok(Checked::Exact(origin)) => {
                    exact.insert(origin);
                }
                Ok(Checked::Pattern(entry)) => {
                    if !patterns.iter().any(|(m, _)| m == member) {
                        patterns.push((member.to_owned(), entry));
                    }
                }
                Err(diagnostics) => {
                    if invalid.insert(Box::from(member)) {
                        refused.push(Refused {
                            member: member.to_owned(),
                            diagnostics,
                        });
                    }
                }
            }
        }
        let compiled = OriginSet::new(patterns.iter().map(|(_, e)| e));
        let set = StoredOrigins {
            rules,
            base: Arc::new(exact),
            added: HashSet::new(),
            removed: HashSet::new(),
            patterns: Arc::new(patterns),
            compiled_patterns: Arc::new(compiled),
            invalid: Arc::new(invalid),
        };
        (set, refused)
    }

    /// A new snapshot with `add` added and `remove` removed (removals after
    /// additions, so a member in both ends up absent). Members the rules
    /// refuse are returned, each once per call.
    pub fn with_changes<A: AsRef<str>, R: AsRef<str>>(
        &self,
        add: &[A],
        remove: &[R],
    ) -> (Self, Vec<Refused>) {
        let mut next = self.clone();
        let mut refused = Vec::new();
        let mut patterns_changed = false;
        let mut invalid_changed: Option<HashSet<Box<str>>> = None;
        for member in add.iter().map(AsRef::as_ref) {
            match check(&self.rules, member, next.patterns.len()) {
                Ok(Checked::Exact(origin)) => {
                    if !next.removed.remove(&origin) && !next.base.contains(&origin) {
                        next.added.insert(origin);
                    }
                }
                Ok(Checked::Pattern(entry)) => {
                    if !next.patterns.iter().any(|(m, _)| m == member) {
                        Arc::make_mut(&mut next.patterns).push((member.to_owned(), entry));
                        patterns_changed = true;
                    }
                }
                Err(diagnostics) => {
                    let invalid = invalid_changed.get_or_insert_with(|| (*self.invalid).clone());
                    if invalid.insert(Box::from(member)) {
                        refused.push(Refused {
                            member: member.to_owned(),
                            diagnostics,
                        });
                    }
                }
            }
        }
        for member in remove.iter().map(AsRef::as_ref) {
            let bytes = member.as_bytes();
            if !next.added.remove(bytes) && next.base.contains(bytes) {
                next.removed.insert(Box::from(bytes));
            }
            if next.patterns.iter().any(|(m, _)| m == member) {
                Arc::make_mut(&mut next.patterns).retain(|(m, _)| m != member);
                patterns_changed = true;
            }
            if next.invalid.contains(member) || invalid_changed.is_some() {
                let invalid = invalid_changed.get_or_insert_with(|| (*self.invalid).clone());
                invalid.remove(member);
            }
        }
        if let Some(invalid) = invalid_changed {
            next.invalid = Arc::new(invalid);
        }
        if patterns_changed {
            next.compiled_patterns = Arc::new(OriginSet::new(next.patterns.iter().map(|(_, e)| e)));
        }
        if next.added.len() + next.removed.len() > MIN_FOLD.max(next.base.len() / 16) {
            next.fold();
        }
        (next, refused)
    }

    /// Folds the overlay into a new base.
    fn fold(&mut self) {
        let mut base = (*self.base).clone();
        for origin in self.removed.drain() {
            base.remove(&origin);
        }
        base.extend(self.added.drain());
        self.base = Arc::new(base);
    }

    /// Whether `origin` (the raw `Origin` header bytes) is a valid member.
    /// Hashes once (twice with a non-empty overlay) and never allocates.
    pub fn contains(&self, origin: &[u8]) -> bool {
        if !self.removed.is_empty() && self.removed.contains(origin) {
            return false;
        }
        if self.base.contains(origin) || (!self.added.is_empty() && self.added.contains(origin)) {
            return true;
        }
        !self.patterns.is_empty() && self.compiled_patterns.matches(origin)
    }

    /// The rules the members were validated under.
    pub fn rules(&self) -> OriginRules {
        self.rules
    }

    /// How many members are valid (and so matched).
    pub fn len(&self) -> usize {
        self.base.len() + self.added.len() - self.removed.len() + self.patterns.len()
    }

    /// Whether no member is valid.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many members the rules refuse (and so are never matched).
    pub fn invalid(&self) -> usize {
        self.invalid.len()
    }
}

enum Checked {
    Exact(Box<[u8]>),
    Pattern(OriginEntry),
}

fn check(rules: &OriginRules, member: &str, patterns: usize) -> Result<Checked, Vec<Diagnostic>> {
    let CheckedOrigin(entry) = rules.check(member, "stored origin")?;
    match entry {
        OriginEntry::Exact { origin, .. } => Ok(Checked::Exact(origin.into_bytes().into())),
        _ if patterns >= MAX_PATTERNS => Err(vec![Diagnostic::error(
            "too-many-patterns",
            "stored origin",
            format!("the set already holds {MAX_PATTERNS} patterns, the most one set may hold"),
            "store exact origins, or split the patterns over several sets (origin_set)",
        )]),
        entry => Ok(Checked::Pattern(entry)),
    }
}

/// The current [`StoredOrigins`] of one set, swapped whole by the store's
/// sync task: a request reads one snapshot from start to end and never sees
/// half of an update.
#[derive(Debug)]
pub struct LiveOrigins {
    current: ArcSwap<StoredOrigins>,
}

impl LiveOrigins {
    /// A slot holding an empty set under `rules`.
    pub fn new(rules: OriginRules) -> Self {
        LiveOrigins {
            current: ArcSwap::from_pointee(StoredOrigins::empty(rules)),
        }
    }

    /// The current snapshot (no allocation, no lock).
    pub fn load(&self) -> Guard<Arc<StoredOrigins>> {
        self.current.load()
    }

    /// Replaces the snapshot.
    pub fn store(&self, next: StoredOrigins) {
        self.current.store(Arc::new(next));
    }

    /// The rules every snapshot in this slot is validated under.
    pub fn rules(&self) -> OriginRules {
        self.current.load().rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    fn rules(credentials: bool) -> OriginRules {
        Policy::builder()
            .origins(["https://static.example"])
            .credentials(credentials)
            .build()
            .unwrap()
            .origin_rules()
    }

    #[test]
    fn members_are_validated_and_refusals_reported_once() {
        let (set, refused) = StoredOrigins::build(
            rules(true),
            [
                "https://a.example",
                "http://b.example",
                "http://b.example",
                "*",
                "https://*.t.example",
                "https://c.example/",
            ],
        );
        assert!(set.contains(b"https://a.example"));
        assert!(set.contains(b"https://x.t.example"));
        assert!(!set.contains(b"http://b.example"));
        assert!(!set.contains(b"https://evil.example"));
        assert!(!set.contains(b"https://c.example/"));
        assert_eq!((set.len(), set.invalid()), (2, 3));
        let members: Vec<_> = refused.iter().map(|r| r.member.as_str()).collect();
        assert_eq!(members, ["http://b.example", "*", "https://c.example/"]);
        assert!(refused.iter().all(|r| !r.diagnostics.is_empty()));
    }

    #[test]
    fn changes_apply_as_an_overlay_and_fold() {
        let (set, _) =
            StoredOrigins::build(rules(false), ["https://a.example", "https://b.example"]);
        let (next, refused) =
            set.with_changes(&["https://c.example", "ftp://x"], &["https://a.example"]);
        assert_eq!(refused.len(), 1);
        assert!(!next.contains(b"https://a.example"));
        assert!(next.contains(b"https://b.example") && next.contains(b"https://c.example"));
        assert_eq!((next.len(), next.invalid()), (2, 1));
        // The old snapshot is untouched.
        assert!(set.contains(b"https://a.example") && !set.contains(b"https://c.example"));
        // Re-adding a removed member, removing an added one.
        let (again, _) =
            next.with_changes(&["https://a.example"], &["https://c.example", "ftp://x"]);
        assert!(again.contains(b"https://a.example") && !again.contains(b"https://c.example"));
        assert_eq!((again.len(), again.invalid()), (2, 0));
        // Enough changes fold the overlay into the base without changing the answer.
        let many: Vec<String> = (0..MIN_FOLD + 1)
            .map(|i| format!("https://n{i}.example"))
            .collect();
        let (folded, _) = again.with_changes(&many, &["https://b.example"]);
        assert!(folded.added.is_empty() && folded.removed.is_empty());
        assert!(folded.contains(b"https://n0.example") && !folded.contains(b"https://b.example"));
        assert_eq!(folded.len(), MIN_FOLD + 2);
    }

    #[test]
    fn patterns_are_capped() {
        let many: Vec<String> = (0..MAX_PATTERNS + 1)
            .map(|i| format!("https://*.p{i}.example"))
            .collect();
        let (set, refused) = StoredOrigins::build(rules(false), &many);
        assert_eq!(set.len(), MAX_PATTERNS);
        assert_eq!(refused[0].diagnostics[0].code, "too-many-patterns");
        assert!(!set.contains(format!("https://a.p{MAX_PATTERNS}.example").as_bytes()));
        let (removed, _) = set.with_changes::<&str, _>(&[], &["https://*.p0.example"]);
        assert!(!removed.contains(b"https://a.p0.example"));
        assert!(removed.contains(b"https://a.p1.example"));
    }

    #[test]
    fn a_live_slot_swaps_whole_snapshots() {
        let live = LiveOrigins::new(rules(false));
        assert!(!live.load().contains(b"https://a.example"));
        let (set, _) = StoredOrigins::build(rules(false), ["https://a.example"]);
        let before = live.load_full_for_test();
        live.store(set);
        assert!(live.load().contains(b"https://a.example"));
        assert!(!before.contains(b"https://a.example"));
    }

    impl LiveOrigins {
        fn load_full_for_test(&self) -> Arc<StoredOrigins> {
            self.current.load_full()
        }
    }
}
