//! Reading a configuration file without trusting what sits at its path.
//!
//! The gateway re-reads its file on every reload, and whoever can replace
//! that path (a ConfigMap update, a deploy script, a mistake) decides what
//! the read meets. A FIFO would block the read until someone writes to it,
//! `/dev/zero` would fill memory, and a file of hundreds of megabytes would
//! stall the process while it is parsed. So only regular files are read
//! (after following symlinks), never more than [`MAX_CONFIG_BYTES`], and
//! the file is opened without blocking, so that a path swapped for a FIFO
//! between the check and the open cannot hang the reader either.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// The largest configuration file the gateway reads: 4 MiB. A gateway file
/// with hundreds of routes is a few hundred kilobytes; large origin lists
/// belong in an origin store, not in the file.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Why a configuration file was not read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The path leads to something other than a regular file.
    NotRegularFile {
        /// What it is instead, e.g. "a FIFO (named pipe)".
        kind: &'static str,
    },
    /// The file is over [`MAX_CONFIG_BYTES`].
    TooLarge {
        /// Its size in bytes, or at least how much was seen of it.
        size: u64,
    },
    /// The file is not UTF-8 text.
    NotText,
    /// The operating system refused the read.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegularFile { kind } => write!(
                f,
                "it is not a regular file but {kind}; point the configuration path at a TOML file (symlinks to one are fine)"
            ),
            ReadError::TooLarge { size } => write!(
                f,
                "it is larger than the {} MiB a configuration file may have ({size} bytes); keep large origin lists in an origin store",
                MAX_CONFIG_BYTES / (1024 * 1024)
            ),
            ReadError::NotText => f.write_str("it is not UTF-8 text, so it cannot be a TOML file"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads the configuration file at `path`: a regular file (symlinks are
/// followed) of at most [`MAX_CONFIG_BYTES`], as UTF-8 text.
pub fn read_config_file(path: &Path) -> Result<String, ReadError> {
    // Checked before opening: opening a FIFO for reading would wait for a
    // writer, and opening some devices has effects of its own.
    check_regular(&std::fs::metadata(path)?)?;
    let file = open_without_blocking(path)?;
    // Checked again on what was opened, in case the path changed between.
    check_regular(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

fn check_regular(metadata: &Metadata) -> Result<(), ReadError> {
    let kind = metadata.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegularFile {
            kind: describe(&kind),
        });
    }
    if metadata.len() > MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge {
            size: metadata.len(),
        });
    }
    Ok(())
}

#[cfg(unix)]
fn describe(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn describe(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("corsica-read-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_regular_file_and_a_symlink_to_one_are_read() {
        let dir = scratch("regular");
        let file = dir.join("corsica.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:0\"\n").unwrap();
        assert_eq!(
            read_config_file(&file).unwrap(),
            "listen = \"127.0.0.1:0\"\n"
        );
        #[cfg(unix)]
        {
            let link = dir.join("link.toml");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert!(read_config_file(&link).is_ok());
        }
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_and_directories_are_refused_without_blocking() {
        let dir = scratch("special");
        let fifo = dir.join("fifo.toml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.map(|s| s.success()).unwrap_or(false) {
            let error = read_config_file(&fifo).unwrap_err();
            assert!(error.to_string().contains("FIFO"), "{error}");
        } else {
            panic!("mkfifo is needed for this test");
        }
        let zero = dir.join("zero.toml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let error = read_config_file(&zero).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        assert!(error.to_string().contains("character device"), "{error}");
        let error = read_config_file(&dir).unwrap_err();
        assert!(error.to_string().contains("directory"), "{error}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_before_it_is_read() {
        let dir = scratch("large");
        let file = dir.join("huge.toml");
        let f = File::create(&file).unwrap();
        f.set_len(200 * 1024 * 1024).unwrap();
        let error = read_config_file(&file).unwrap_err();
        assert!(matches!(error, ReadError::TooLarge { size } if size == 200 * 1024 * 1024));
        assert!(
            error.to_string().contains("larger than the 4 MiB"),
            "{error}"
        );
        // Exactly at the cap is fine.
        f.set_len(MAX_CONFIG_BYTES).unwrap();
        assert!(!matches!(
            read_config_file(&file),
            Err(ReadError::TooLarge { .. })
        ));
    }

    #[test]
    fn binary_content_is_refused_without_quoting_it() {
        let dir = scratch("binary");
        let file = dir.join("bin.toml");
        std::fs::write(&file, [0xff, 0xfe, 0x00, 0x41]).unwrap();
        let error = read_config_file(&file).unwrap_err();
        assert!(matches!(error, ReadError::NotText));
    }
}
