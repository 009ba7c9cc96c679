//! `corsica serve`: the CORS gateway in front of an API, or, with no
//! configuration, a self-contained demo (a small API with the gateway in
//! front of it and a few `curl` lines to try).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use corsica_gateway::config::{self, GatewayConfig, LogFormat};
use corsica_gateway::{demo, Gateway, Options};

use super::CmdError;
use crate::cli::ServeArgs;
use crate::output;

/// Where the demo listens unless `--listen` says otherwise.
const DEMO_PORT: u16 = 8080;

pub fn run(args: &ServeArgs) -> Result<ExitCode, CmdError> {
    let workers = args.workers.map_or_else(worker_threads, |n| n.get());
    match &args.config {
        Some(path) => serve_file(path, args.listen, workers),
        None => serve_demo(args.listen, workers),
    }
}

/// Serves a configuration file until SIGTERM or Ctrl-C.
fn serve_file(
    path: &Path,
    listen: Option<SocketAddr>,
    workers: usize,
) -> Result<ExitCode, CmdError> {
    let name = path.display().to_string();
    let source = config::read_config_file(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    if !config::is_gateway_file(&source) {
        eprintln!(
            "{name}: not a gateway configuration: it has none of listen, upstream, [policy] or [[routes]]"
        );
        eprintln!("  fix: a gateway file says where to listen and what to forward to, with the policy in a table:");
        eprintln!("         listen = \"127.0.0.1:8080\"");
        eprintln!("         upstream = \"http://127.0.0.1:3000\"");
        eprintln!("         [policy]");
        eprintln!("         origins = [\"https://app.example.com\"]");
        eprintln!("       (a bare policy file, origins = [...] at the top, is what `corsica lint` and the library take)");
        return Ok(ExitCode::from(2));
    }
    let config = match config::load_str(&source) {
        Ok(config) => config,
        Err(error) => {
            eprint!("{}", error.render(&name, Some(&source)));
            eprintln!(
                "{name}: the gateway did not start (run `corsica lint {name}` after fixing it)"
            );
            return Ok(ExitCode::from(2));
        }
    };
    if !config.warnings.is_empty() {
        eprint!(
            "{}",
            corsica::diagnostic::render(&config.warnings, &name, Some(&source), &output::palette())
        );
    }
    init_logging(config.log_format);
    let options = Options {
        config_path: Some(path.to_path_buf()),
        watch_config: true,
        handle_signals: true,
        listen_override: listen,
        threads: workers,
        ..Options::default()
    };
    runtime()?.block_on(async move {
        let gateway = Gateway::bind(config, options).await?;
        tracing::info!(
            target: "corsica::gateway",
            listen = %gateway.local_addr(),
            admin = %gateway.admin_addr().map_or_else(|| "none".to_owned(), |a| a.to_string()),
            config = %name,
            "corsica gateway listening (SIGHUP or editing the file reloads it; SIGTERM or Ctrl-C stops it)"
        );
        gateway.run().await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The demo: the built-in API, the gateway in front, and a walkthrough.
fn serve_demo(listen: Option<SocketAddr>, workers: usize) -> Result<ExitCode, CmdError> {
    init_logging(LogFormat::Text);
    runtime()?.block_on(async move {
        let api = demo::start_api()
            .await
            .map_err(|e| format!("cannot start the demo API: {e}"))?;
        let wanted = listen.unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, DEMO_PORT)));
        let options = Options {
            handle_signals: true,
            threads: workers,
            ..Options::default()
        };
        let mut note = None;
        let gateway = match Gateway::bind(demo_config(api, wanted)?, options.clone()).await {
            Ok(gateway) => gateway,
            // The default port is busy: any free port will do for a demo.
            // An explicit --listen is honoured or fails.
            Err(error) if error.is_addr_in_use() && listen.is_none() => {
                let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
                let gateway = Gateway::bind(demo_config(api, any)?, options).await?;
                note = Some(format!(
                    "port {DEMO_PORT} is in use, so the demo listens on port {} instead (choose one with --listen 127.0.0.1:PORT)",
                    gateway.local_addr().port()
                ));
                gateway
            }
            Err(error) => return Err(error.into()),
        };
        print_banner(gateway.local_addr(), api, note.as_deref())?;
        gateway.run().await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn demo_config(api: SocketAddr, listen: SocketAddr) -> Result<GatewayConfig, CmdError> {
    let text = demo::config(api, listen);
    // The demo configuration is ours; failing here is a corsica bug.
    config::load_str(&text).map_err(|e| {
        format!(
            "the built-in demo configuration is invalid:\n{}",
            e.render("demo", Some(&text))
        )
        .into()
    })
}

fn print_banner(gateway: SocketAddr, api: SocketAddr, note: Option<&str>) -> Result<(), CmdError> {
    use std::io::Write;
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let policy = demo::policy().map_err(|e| format!("the demo policy is invalid: {e}"))?;
    let mut out = anstream::stdout();
    writeln!(
        out,
        "{bold}corsica serve{bold:#}: demo mode (no --config given)\n"
    )?;
    if let Some(note) = note {
        writeln!(out, "  {note}\n")?;
    }
    writeln!(
        out,
        "  gateway  {green}http://{gateway}{green:#}   send your requests here"
    )?;
    writeln!(out, "  API      http://{api}   a built-in demo API: GET and POST /api/items, DELETE /api/items/{{id}}")?;
    writeln!(out, "  policy   origins http://localhost:* · methods PUT, PATCH, DELETE · request header content-type")?;
    writeln!(
        out,
        "           no credentials · preflights cached 600 s · debug on: refusals say why in x-corsica-debug\n"
    )?;
    writeln!(out, "Try it from another terminal:\n")?;
    for (i, step) in demo::walkthrough(&policy).iter().enumerate() {
        writeln!(out, "{bold}{}. {}{bold:#}", i + 1, step.title)?;
        writeln!(out, "   {}", step.curl(gateway))?;
        let reason = step.status.canonical_reason().unwrap_or("");
        writeln!(
            out,
            "{dim}   → HTTP/1.1 {} {reason}{dim:#}",
            step.status.as_u16()
        )?;
        for (name, value) in &step.expect {
            writeln!(out, "{dim}     {name}: {value}{dim:#}")?;
        }
        if !step.note.is_empty() {
            writeln!(out, "{dim}     ({}){dim:#}", step.note)?;
        }
        writeln!(out)?;
    }
    writeln!(out, "Your own API: write a corsica.toml (listen, upstream, [policy]) and run `corsica serve --config corsica.toml`.")?;
    writeln!(out, "{bold}Ctrl-C to stop.{bold:#}")?;
    out.flush()?;
    Ok(())
}

/// Logs go to stderr, as text or JSON; `RUST_LOG` refines the level.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter);
    // A second initialisation (never in the binary) is harmless: keep the first.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
}

/// Standard error for logs, where a failed write is dropped: when stderr
/// is a pipe whose reader has gone (`corsica serve 2>&1 | head`),
/// tracing-subscriber would report the failure with `eprintln!`, which
/// panics on that same broken pipe, inside the task that was logging (the
/// one that handles SIGTERM, say), and the gateway could no longer stop.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(std::io::stderr().write(buf).unwrap_or(buf.len()))
    }

    // One lock per line, as `Stderr::write_all` takes it, so that the
    // workers' lines never interleave.
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let _ = std::io::stderr().lock().write_all(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// By default, one gateway worker thread per core (each with its own
/// runtime and upstream pool, as nginx runs one worker process per core).
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The control runtime: signals, reloads, the admin listener and the demo
/// API. Client connections are served by the gateway's worker threads.
fn runtime() -> Result<tokio::runtime::Runtime, CmdError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}").into())
}
