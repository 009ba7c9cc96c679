//! `corsica origins`: add, remove, list and init the members of a store's
//! origin set, validated before anything is written.

use std::process::ExitCode;

use corsica::policy::{check_set_name, store_kind, OriginRules, StoreKind};
use corsica::{Diagnostic, Policy};
use corsica_store::{redact, OriginWriter};

use super::CmdError;
use crate::cli::{ChangeArgs, Format, OriginsAction, OriginsArgs, StoreArgs};
use crate::output;

/// The entries of one run, as one text: each on its own line, so that a
/// diagnostic's span points at `file:line`, as `lint`'s do.
struct Entries {
    name: String,
    source: String,
    /// Each entry with its byte range in `source`.
    items: Vec<(String, std::ops::Range<usize>)>,
}

impl Entries {
    fn read(args: &ChangeArgs) -> Result<Entries, CmdError> {
        let (name, source) = match &args.from_file {
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {name}: {e}"))?;
                if !args.origins.is_empty() {
                    return Err(
                        "give origins either as arguments or with --from-file, not both".into(),
                    );
                }
                (name, text)
            }
            None => ("command line".to_owned(), args.origins.join("\n")),
        };
        let mut items = Vec::new();
        let mut at = 0;
        for line in source.split_inclusive('\n') {
            let text = line.trim_end_matches(['\n', '\r']);
            let trimmed = text.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                let start = at + (text.len() - text.trim_start().len());
                items.push((trimmed.to_owned(), start..start + trimmed.len()));
            }
            at += line.len();
        }
        if items.is_empty() {
            return Err(format!("no origins given in {name}").into());
        }
        Ok(Entries {
            name,
            source,
            items,
        })
    }
}

fn store_location(args: &StoreArgs) -> Result<(), CmdError> {
    match store_kind(&args.store) {
        Ok(StoreKind::Redis | StoreKind::Postgres) => {}
        Ok(_) => {
            return Err(format!(
                "{}: `corsica origins` cannot write this kind of store",
                redact(&args.store)
            )
            .into())
        }
        Err((_, reason, fix)) => return Err(format!("--store: {reason}\n  fix: {fix}").into()),
    }
    check_set_name(&args.set).map_err(|(reason, fix)| format!("--set: {reason}\n  fix: {fix}"))?;
    Ok(())
}

/// The rules of `--policy`, or the strictest: credentials, no opt-in.
fn rules(args: &ChangeArgs) -> Result<OriginRules, CmdError> {
    let Some(path) = &args.policy else {
        let strict = Policy::builder()
            .origins(["https://placeholder.invalid"])
            .credentials(true)
            .build()?;
        return Ok(strict.origin_rules());
    };
    let name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    // A gateway file's [policy] table, or a policy file.
    let table = toml::from_str::<toml::Table>(&source).ok();
    let policy_source = match table.as_ref().and_then(|t| t.get("policy")) {
        Some(toml::Value::Table(policy)) => toml::to_string(policy)?,
        _ => source.clone(),
    };
    Policy::from_toml(&policy_source)
        .map(|p| p.origin_rules())
        .map_err(|e| format!("{name}: {e}\n  fix: run `corsica lint {name}`").into())
}

fn runtime() -> Result<tokio::runtime::Runtime, CmdError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn run(args: &OriginsArgs) -> Result<ExitCode, CmdError> {
    match &args.action {
        OriginsAction::Init(store) => {
            store_location(store)?;
            runtime()?.block_on(async {
                OriginWriter::connect(&store.store, &store.set)
                    .await?
                    .init()
                    .await
            })?;
            let place = match store_kind(&store.store) {
                Ok(StoreKind::Postgres) => {
                    "table corsica_origins, with its NOTIFY triggers".to_owned()
                }
                _ => format!("Redis key {}", corsica_store::redis::set_key(&store.set)),
            };
            println!(
                "{} set \"{}\": ready ({place})",
                redact(&store.store),
                store.set
            );
            Ok(ExitCode::SUCCESS)
        }
        OriginsAction::List(list) => {
            let store = &list.store;
            store_location(store)?;
            let members = runtime()?.block_on(async {
                OriginWriter::connect(&store.store, &store.set)
                    .await?
                    .list()
                    .await
            })?;
            if list.format == Format::Json {
                println!("{}", serde_json::to_string(&members)?);
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = String::new();
            for m in members {
                out.push_str(&m);
                out.push('\n');
            }
            print!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        OriginsAction::Add(change) => write(change, true),
        OriginsAction::Remove(change) => write(change, false),
    }
}

fn write(args: &ChangeArgs, add: bool) -> Result<ExitCode, CmdError> {
    store_location(&args.store)?;
    let entries = Entries::read(args)?;
    let mut refused: Vec<Diagnostic> = Vec::new();
    if add {
        let rules = rules(args)?;
        for (entry, span) in &entries.items {
            if let Err(diags) = rules.check(entry, "origin") {
                refused.extend(diags.into_iter().map(|d| d.at(Some(span.clone()))));
            }
        }
    } else {
        // Removal takes refused members too (that is how a set is cleaned
        // up), but never something that cannot be a member at all.
        for (entry, span) in &entries.items {
            if entry.contains(char::is_control) {
                refused.push(
                    Diagnostic::error(
                        "origin-control-character",
                        "origin",
                        "the entry holds a control character, so it cannot be a member",
                        "remove the control character",
                    )
                    .at(Some(span.clone())),
                );
            }
        }
    }
    if !refused.is_empty() {
        let mut out = corsica::diagnostic::render(
            &refused,
            &entries.name,
            Some(&entries.source),
            &output::palette(),
        );
        out.push_str(&format!(
            "{}: {} of {} origin{} refused; nothing was written\n",
            entries.name,
            refused.len(),
            entries.items.len(),
            if entries.items.len() == 1 { "" } else { "s" }
        ));
        eprint!("{out}");
        return Ok(ExitCode::from(1));
    }
    let mut seen = std::collections::HashSet::new();
    let members: Vec<String> = entries
        .items
        .into_iter()
        .map(|(e, _)| e)
        .filter(|e| seen.insert(e.clone()))
        .collect();
    let (added, removed) = runtime()?.block_on(async {
        let mut writer = OriginWriter::connect(&args.store.store, &args.store.set).await?;
        if add {
            writer.change(&members, &[]).await
        } else {
            writer.change(&[], &members).await
        }
    })?;
    let (verb, n) = if add {
        ("added", added)
    } else {
        ("removed", removed)
    };
    println!(
        "{} set \"{}\": {verb} {n} of {} origin{} ({} already {})",
        redact(&args.store.store),
        args.store.set,
        members.len(),
        if members.len() == 1 { "" } else { "s" },
        members.len() - n,
        if add { "present" } else { "absent" },
    );
    Ok(ExitCode::SUCCESS)
}
