//! Compression, told by the first bytes of the data and never by the file
//! name: gzip, xz, zstd, or plain XML.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use crate::error::RepoError;

/// How a metadata file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed: the bytes are the XML.
    None,
    /// gzip (`1f 8b`), possibly several members.
    Gzip,
    /// xz (`fd 37 7a 58 5a 00`), possibly several streams.
    Xz,
    /// zstd (`28 b5 2f fd`), possibly several frames.
    Zstd,
}

impl Compression {
    /// The compression whose magic bytes `data` starts with; `None` when
    /// it starts like XML (`<`, a byte-order mark or white space); `Err`
    /// with a description of the bytes otherwise.
    pub fn detect(data: &[u8]) -> Result<Compression, String> {
        Ok(if data.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if data.starts_with(b"<")
            || data.starts_with(&[0xef, 0xbb, 0xbf])
            || data.first().is_some_and(u8::is_ascii_whitespace)
        {
            Compression::None
        } else if data.is_empty() {
            return Err("the file is empty".to_owned());
        } else if data.starts_with(b"BZh") {
            return Err("bzip2 compression is not supported (only gzip, xz and zstd)".to_owned());
        } else if data.starts_with(b"\0ZCK1") {
            return Err("zchunk compression is not supported (only gzip, xz and zstd)".to_owned());
        } else {
            let hex: Vec<String> = data.iter().take(8).map(|it| format!("{it:02x}")).collect();
            return Err(format!(
                "unknown format: starts with bytes {}, which are neither XML nor gzip, xz or zstd",
                hex.join(" ")
            ));
        })
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        })
    }
}

/// Large reads: the XML reader asks for little at a time.
const BUFFER: usize = 256 * 1024;

/// A compression, and a reader of all the bytes read to tell it.
type Sniffed<R> = (Compression, io::Chain<io::Cursor<Vec<u8>>, R>);

/// Read the first bytes of `raw` and tell its compression; give back a
/// reader of all of it.
fn sniff<R: Read>(mut raw: R, path: &Path) -> Result<Sniffed<R>, RepoError> {
    let mut magic = [0u8; 6];
    let mut got = 0;
    while got < magic.len() {
        match raw.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(RepoError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    let head = &magic[..got];
    let compression = Compression::detect(head).map_err(|why| RepoError::UnknownFormat {
        path: path.to_owned(),
        why,
    })?;
    Ok((compression, io::Cursor::new(head.to_vec()).chain(raw)))
}

fn zstd_error(path: &Path) -> impl FnOnce(io::Error) -> RepoError + '_ {
    move |source| RepoError::Decompress {
        path: path.to_owned(),
        compression: Compression::Zstd,
        source,
    }
}

/// The decompressed bytes of `raw`, with the compression found by its
/// magic bytes.
pub(crate) fn decompressed<'a, R: Read + 'a>(
    raw: R,
    path: &Path,
) -> Result<(Compression, Box<dyn BufRead + 'a>), RepoError> {
    let (compression, whole) = sniff(raw, path)?;
    let reader: Box<dyn BufRead + 'a> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(BUFFER, whole)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::read::MultiGzDecoder::new(whole),
        )),
        Compression::Xz => Box::new(BufReader::with_capacity(
            BUFFER,
            liblzma::read::XzDecoder::new_multi_decoder(whole),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            BUFFER,
            zstd::stream::read::Decoder::new(whole).map_err(zstd_error(path))?,
        )),
    };
    Ok((compression, reader))
}

/// Like [`decompressed`], for a reader that can move to another thread: the
/// decompression runs on a thread of its own, ahead of the XML reader.
pub(crate) fn decompressed_ahead<R: Read + Send + 'static>(
    raw: R,
    path: &Path,
) -> Result<(Compression, Box<dyn BufRead>), RepoError> {
    let (compression, whole) = sniff(raw, path)?;
    let decoder: Box<dyn Read + Send> = match compression {
        Compression::None => {
            return Ok((
                compression,
                Box::new(BufReader::with_capacity(BUFFER, whole)),
            ));
        }
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(whole)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(whole).map_err(zstd_error(path))?)
        }
    };
    let ahead = ReadAhead::start(decoder).map_err(|source| RepoError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok((compression, Box::new(ahead)))
}

/// Chunks of decompressed bytes, made by a thread and read here in order;
/// the thread stops when the reader is dropped.
struct ReadAhead {
    chunks: Option<mpsc::Receiver<io::Result<Vec<u8>>>>,
    thread: Option<thread::JoinHandle<()>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// Start the thread that decompresses.
    fn start(mut decoder: Box<dyn Read + Send>) -> io::Result<ReadAhead> {
        let (sender, chunks) = mpsc::sync_channel::<io::Result<Vec<u8>>>(8);
        let spawned = thread::Builder::new()
            .name("repo-decompress".to_owned())
            .spawn(move || {
                loop {
                    let mut chunk = vec![0u8; BUFFER];
                    let mut filled = 0;
                    let result = loop {
                        match decoder.read(&mut chunk[filled..]) {
                            Ok(0) => break Ok(()),
                            Ok(n) => {
                                filled += n;
                                if filled == chunk.len() {
                                    break Ok(());
                                }
                            }
                            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                            Err(err) => break Err(err),
                        }
                    };
                    chunk.truncate(filled);
                    let last = filled < BUFFER || result.is_err();
                    if filled > 0 && sender.send(Ok(chunk)).is_err() {
                        return;
                    }
                    if let Err(err) = result {
                        let _ = sender.send(Err(err));
                        return;
                    }
                    if last {
                        return;
                    }
                }
            });
        Ok(ReadAhead {
            chunks: Some(chunks),
            thread: Some(spawned?),
            current: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.current.len() && !self.done {
            match self.chunks.as_ref().map(mpsc::Receiver::recv) {
                Some(Ok(Ok(chunk))) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Some(Ok(Err(err))) => {
                    self.done = true;
                    return Err(err);
                }
                Some(Err(_)) | None => self.done = true,
            }
        }
        Ok(self.current.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.current.len());
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Dropping the receiver makes the thread's next send fail.
        self.chunks = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        for (data, want) in [
            (&b"\x1f\x8b\x08\x00"[..], Ok(Compression::Gzip)),
            (b"\xfd7zXZ\x00\x00", Ok(Compression::Xz)),
            (b"\x28\xb5\x2f\xfd\x04", Ok(Compression::Zstd)),
            (b"<?xml version", Ok(Compression::None)),
            (b"\xef\xbb\xbf<?xml", Ok(Compression::None)),
            (b"\n<metadata", Ok(Compression::None)),
        ] {
            assert_eq!(Compression::detect(data), want);
        }
        for (data, want) in [
            (&b""[..], "the file is empty"),
            (b"BZh91AY", "bzip2 compression is not supported"),
            (b"\0ZCK1", "zchunk compression is not supported"),
            (
                b"PK\x03\x04",
                "unknown format: starts with bytes 50 4b 03 04",
            ),
        ] {
            let err = Compression::detect(data).unwrap_err();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
