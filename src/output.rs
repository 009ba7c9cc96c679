//! Terminal output: colour only on a terminal, and `NO_COLOR` honoured
//! (anstream strips styles otherwise).

use std::fmt::Display;
use std::io::Write;

use anstyle::{AnsiColor, Style};

/// Whether stdout shows colour (a terminal without `NO_COLOR`).
pub fn stdout_has_colour() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// The diagnostic palette matching stdout.
pub fn palette() -> corsica::Palette {
    if stdout_has_colour() {
        corsica::Palette::ANSI
    } else {
        corsica::Palette::PLAIN
    }
}

/// Prints an error that stopped a command (exit status 2).
pub fn error(message: &dyn Display) {
    let style = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
    let mut err = anstream::stderr();
    let _ = writeln!(err, "{style}error{style:#}: {message}");
}

/// Whether stderr is a terminal (for progress bars).
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
