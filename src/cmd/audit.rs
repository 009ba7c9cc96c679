//! `corsica audit URL... --trusted-origin ORIGIN`.

use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::CmdError;
use crate::audit::{self, probes::Trusted, report};
use crate::cli::{AuditArgs, AuditFormat};
use crate::net::Client;

pub fn run(args: &AuditArgs) -> Result<ExitCode, CmdError> {
    let trusted = Trusted::parse(&args.trusted_origin)?;
    let mut urls = args.urls.clone();
    if let Some(file) = &args.urls_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        urls.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    if urls.is_empty() {
        return Err("give at least one URL, or --urls-file".into());
    }
    for url in &urls {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("{url:?} is not an http or https URL").into());
        }
    }
    let client = Client::new(args.insecure, args.timeout)?;
    let progress = crate::output::stderr_is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} probing {pos}/{len} requests {wide_bar} {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let token = token();
    let reports = runtime.block_on(audit::run(
        &client,
        &urls,
        &trusted,
        &token,
        args.concurrency,
        progress.as_ref(),
        args.browser.into(),
    ));
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    match args.format {
        AuditFormat::Text => {
            use std::io::Write;
            write!(anstream::stdout(), "{}", report::text(&reports))?;
        }
        AuditFormat::Json => println!("{}", serde_json::to_string_pretty(&report::json(&reports))?),
        AuditFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&report::sarif(&reports))?
        ),
    }
    let failing = reports
        .iter()
        .flat_map(|r| &r.findings)
        .any(|f| f.severity >= args.fail_on);
    let errors = reports.iter().any(|r| !r.errors.is_empty());
    Ok(if failing {
        ExitCode::from(1)
    } else if errors {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// A short per-run token so probe origins are unmistakable.
fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut n = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    let mut out = String::new();
    for _ in 0..6 {
        out.push(char::from_digit((n % 36) as u32, 36).unwrap_or('x'));
        n /= 36;
    }
    out
}
