//! Files from the kojipkgs tree: where they are ([`PathInfo`]) and how they
//! arrive ([`Downloader`]): into a cache shared by every job, verified
//! against what Koji says of them, several at once, each retried.
//!
//! A file enters the cache only whole and verified: it is written under a
//! temporary name next to its place and renamed into it at the end, so a
//! download that stops half-way, or a second process fetching the same
//! file, never leaves a partial file where a job would read it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use taskotron_net::{Retry, snippet};

use crate::error::KojiError;
use crate::types::{Build, Rpm};

/// The kojipkgs layout (koji's `PathInfo`) under a top URL such as
/// `https://kojipkgs.fedoraproject.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    topurl: String,
}

impl PathInfo {
    /// The layout under `topurl`.
    pub fn new(topurl: &str) -> PathInfo {
        PathInfo {
            topurl: topurl.trim_end_matches('/').to_owned(),
        }
    }

    /// `[vol/<volume>/]packages/<name>/<version>/<release>` (no `vol/` on
    /// the default volume).
    pub fn build_dir(&self, build: &Build) -> String {
        let volume = match build.volume_name.as_deref() {
            None | Some("DEFAULT") => String::new(),
            Some(volume) => format!("vol/{volume}/"),
        };
        format!(
            "{}/{volume}packages/{}/{}/{}",
            self.topurl, build.name, build.version, build.release
        )
    }

    /// An RPM of the build: `<build dir>/<arch>/<file>`.
    pub fn rpm(&self, build: &Build, rpm: &Rpm) -> String {
        format!("{}/{}/{}", self.build_dir(build), rpm.arch, rpm.filename())
    }

    /// A build log: `<build dir>/data/logs/<arch>/<file>`.
    pub fn build_log(&self, build: &Build, arch: &str, file: &str) -> String {
        format!("{}/data/logs/{arch}/{file}", self.build_dir(build))
    }
}

/// How a downloaded file is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Only its size (when known) and that it arrived whole.
    Whole,
    /// An RPM whose SIGMD5 (the MD5 of header and payload, Koji's
    /// `payloadhash`) is this hex digest.
    RpmSigmd5(String),
}

/// One file to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Where it is.
    pub url: String,
    /// Its size, when Koji gave it.
    pub size: Option<u64>,
    /// How to check it.
    pub check: Check,
}

impl Download {
    /// An RPM of a build, checked against Koji's size and payload hash.
    pub fn rpm(paths: &PathInfo, build: &Build, rpm: &Rpm) -> Download {
        Download {
            url: paths.rpm(build, rpm),
            size: rpm.size,
            check: rpm
                .payloadhash
                .clone()
                .map_or(Check::Whole, Check::RpmSigmd5),
        }
    }

    /// The file's name: the URL's last segment.
    pub fn file_name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or(&self.url)
    }
}

/// Told how downloads go (a terminal shows bars; a service logs).
pub trait Progress: Send + Sync {
    /// A download starts (`size` when known).
    fn started(&self, _url: &str, _size: Option<u64>) {}
    /// Bytes arrived.
    fn advanced(&self, _url: &str, _bytes: u64) {}
    /// A download failed and starts again from zero.
    fn restarted(&self, _url: &str) {}
    /// The file is ready (`cached`: it was in the cache already).
    fn finished(&self, _url: &str, _cached: bool) {}
}

/// Tells nobody.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Fetches files into a cache directory and from there into targets.
#[derive(Debug, Clone)]
pub struct Downloader {
    http: reqwest::Client,
    cache: PathBuf,
    concurrency: usize,
    retry: Retry,
}

impl Downloader {
    /// A downloader caching in `cache`, four downloads at a time.
    pub fn new(cache: impl Into<PathBuf>) -> Result<Downloader, KojiError> {
        let cache = cache.into();
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            // Between two chunks, not for the whole file.
            .read_timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|err| KojiError::BadUrl {
                url: cache.display().to_string(),
                why: format!("cannot make an HTTP client: {err}"),
            })?;
        Ok(Downloader {
            http,
            cache,
            concurrency: 4,
            retry: Retry::default(),
        })
    }

    /// At most this many downloads at once (at least one).
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Downloader {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Use this retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> Downloader {
        self.retry = retry;
        self
    }

    /// Where `url` is kept in the cache: `<cache>/<host[:port]>/<path>`.
    pub fn cache_path(&self, url: &str) -> Result<PathBuf, KojiError> {
        let bad = |why: &str| KojiError::BadUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let parsed = reqwest::Url::parse(url).map_err(|err| bad(&err.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("only http and https are supported"));
        }
        let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
        let mut path = self.cache.join(match parsed.port() {
            Some(port) => format!("{host}_{port}"),
            None => host.to_owned(),
        });
        let segments: Vec<&str> = parsed
            .path()
            .split('/')
            .filter(|it| !it.is_empty())
            .collect();
        if segments.is_empty() {
            return Err(bad("no file in the path"));
        }
        for segment in segments {
            if segment == "." || segment == ".." || segment.starts_with(".part-") {
                return Err(bad("the path has a segment the cache cannot hold"));
            }
            path.push(segment);
        }
        Ok(path)
    }

    /// Fetch every download (at most the concurrency at once) and put each
    /// file into `target` under its own name. Returns the files, in order.
    /// The first failure (after its retries) fails the whole; the files
    /// already fetched stay in the cache.
    pub async fn fetch_all(
        &self,
        downloads: &[Download],
        target: &Path,
        progress: Arc<dyn Progress>,
    ) -> Result<Vec<PathBuf>, KojiError> {
        tokio::fs::create_dir_all(target)
            .await
            .map_err(|source| KojiError::Io {
                path: target.to_owned(),
                source,
            })?;
        let gate = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for (idx, download) in downloads.iter().enumerate() {
            let this = self.clone();
            let download = download.clone();
            let gate = Arc::clone(&gate);
            let progress = Arc::clone(&progress);
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let cached = this.fetch(&download, progress.as_ref()).await?;
                Ok::<_, KojiError>((idx, cached, download))
            });
        }
        let mut done: Vec<Option<PathBuf>> = vec![None; downloads.len()];
        while let Some(joined) = tasks.join_next().await {
            let (idx, cached, download) = match joined {
                Ok(Ok(it)) => it,
                Ok(Err(err)) => {
                    tasks.abort_all();
                    return Err(err);
                }
                Err(err) => {
                    tasks.abort_all();
                    return Err(KojiError::Io {
                        path: target.to_owned(),
                        source: std::io::Error::other(format!("a download task failed: {err}")),
                    });
                }
            };
            let dest = target.join(download.file_name());
            place(&cached, &dest).await?;
            done[idx] = Some(dest);
        }
        Ok(done.into_iter().flatten().collect())
    }

    /// Fetch one download into the cache (or find it there) and return its
    /// path in the cache.
    pub async fn fetch(
        &self,
        download: &Download,
        progress: &dyn Progress,
    ) -> Result<PathBuf, KojiError> {
        let path = self.cache_path(&download.url)?;
        if let Ok(meta) = tokio::fs::metadata(&path).await
            && meta.is_file()
            && download.size.is_none_or(|size| size == meta.len())
        {
            progress.finished(&download.url, true);
            return Ok(path);
        }
        let dir = path.parent().unwrap_or(&self.cache).to_owned();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|source| KojiError::Io {
                path: dir.clone(),
                source,
            })?;
        let mut first = true;
        self.retry
            .run(&format!("downloading {}", download.url), || {
                if !std::mem::take(&mut first) {
                    progress.restarted(&download.url);
                }
                self.fetch_once(download, &path, progress)
            })
            .await?;
        progress.finished(&download.url, false);
        Ok(path)
    }

    async fn fetch_once(
        &self,
        download: &Download,
        path: &Path,
        progress: &dyn Progress,
    ) -> Result<(), KojiError> {
        let part = path.with_file_name(format!(
            ".part-{}-{}",
            uuid::Uuid::new_v4().simple(),
            download.file_name()
        ));
        let result = self.stream_to(download, &part, progress).await;
        match result {
            Ok(()) => tokio::fs::rename(&part, path)
                .await
                .map_err(|source| KojiError::Io {
                    path: path.to_owned(),
                    source,
                }),
            Err(err) => {
                let _ = tokio::fs::remove_file(&part).await;
                Err(err)
            }
        }
    }

    async fn stream_to(
        &self,
        download: &Download,
        part: &Path,
        progress: &dyn Progress,
    ) -> Result<(), KojiError> {
        let url = download.url.as_str();
        let transport = |source| KojiError::Transport {
            url: url.to_owned(),
            method: "GET".to_owned(),
            source,
        };
        let mut response = self.http.get(url).send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(KojiError::Http {
                url: url.to_owned(),
                method: "GET".to_owned(),
                status: status.as_u16(),
                snippet: snippet(&body),
            });
        }
        let announced = response.content_length();
        if let (Some(announced), Some(size)) = (announced, download.size)
            && announced != size
        {
            return Err(KojiError::Corrupt {
                url: url.to_owned(),
                what: format!("Koji says {size} bytes, the server sends {announced}"),
            });
        }
        progress.started(url, download.size.or(announced));
        let io = |source| KojiError::Io {
            path: part.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::create(part).await.map_err(io)?;
        let mut digest = match &download.check {
            Check::RpmSigmd5(_) => Some(RpmDigest::default()),
            Check::Whole => None,
        };
        let mut received: u64 = 0;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            file.write_all(&chunk).await.map_err(io)?;
            received += chunk.len() as u64;
            if let Some(digest) = &mut digest {
                digest.update(&chunk);
            }
            progress.advanced(url, chunk.len() as u64);
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        let corrupt = |what: String| KojiError::Corrupt {
            url: url.to_owned(),
            what,
        };
        if let Some(announced) = announced
            && received != announced
        {
            return Err(corrupt(format!(
                "truncated: {received} of {announced} bytes arrived"
            )));
        }
        if let Some(size) = download.size
            && received != size
        {
            return Err(corrupt(format!(
                "Koji says {size} bytes, {received} arrived"
            )));
        }
        if let (Check::RpmSigmd5(want), Some(digest)) = (&download.check, digest) {
            let got = digest.finish().map_err(corrupt)?;
            if !got.eq_ignore_ascii_case(want) {
                return Err(corrupt(format!(
                    "the RPM's header and payload have MD5 {got}, Koji's payloadhash is {want}"
                )));
            }
        }
        Ok(())
    }
}

/// Put a copy of the cached file at `dest`, replacing whatever was there
/// (a symlink is removed, never followed). A copy, not a hard link: a task
/// that changes its file must not change the cache other jobs read.
async fn place(cached: &Path, dest: &Path) -> Result<(), KojiError> {
    let io = |source| KojiError::Io {
        path: dest.to_owned(),
        source,
    };
    match tokio::fs::remove_file(dest).await {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(io(err)),
        _ => {}
    }
    tokio::fs::copy(cached, dest).await.map(|_| ()).map_err(io)
}

/// The size of an RPM's lead.
const LEAD: usize = 96;
/// The first bytes of a header structure.
const HEADER_MAGIC: [u8; 3] = [0x8e, 0xad, 0xe8];

/// The MD5 of an RPM's header and payload (its SIGMD5), computed as the
/// file streams past: everything after the lead and the signature header.
#[derive(Debug, Default)]
struct RpmDigest {
    /// The bytes so far, until the signature header's size is known.
    start: Vec<u8>,
    /// Where the signature header ends, once known.
    sig_end: Option<u64>,
    /// Bytes seen.
    seen: u64,
    md5: Md5,
    /// Why this is not an RPM.
    broken: Option<String>,
}

impl RpmDigest {
    fn update(&mut self, chunk: &[u8]) {
        if self.broken.is_some() {
            return;
        }
        let Some(sig_end) = self.sig_end else {
            self.start.extend_from_slice(chunk);
            if self.start.len() >= LEAD + 16 {
                match signature_end(&self.start) {
                    Ok(end) => {
                        self.sig_end = Some(end);
                        let start = std::mem::take(&mut self.start);
                        self.feed(end, &start);
                    }
                    Err(why) => self.broken = Some(why),
                }
            }
            return;
        };
        self.feed(sig_end, chunk);
    }

    /// Hash the part of `chunk` (at offset `self.seen`) past `sig_end`.
    fn feed(&mut self, sig_end: u64, chunk: &[u8]) {
        let at = self.seen;
        self.seen += chunk.len() as u64;
        if self.seen <= sig_end {
            return;
        }
        let skip = usize::try_from(sig_end.saturating_sub(at)).unwrap_or(usize::MAX);
        self.md5.update(&chunk[skip.min(chunk.len())..]);
    }

    /// The hex digest, or why the file is not an RPM.
    fn finish(self) -> Result<String, String> {
        if let Some(why) = self.broken {
            return Err(why);
        }
        match self.sig_end {
            Some(end) if self.seen >= end => Ok(self
                .md5
                .finalize()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect()),
            _ => Err("not an RPM: it ends inside its signature header".to_owned()),
        }
    }
}

/// Where the signature header that follows the lead ends (it is padded to
/// a multiple of 8 bytes).
fn signature_end(start: &[u8]) -> Result<u64, String> {
    if start.get(..4) != Some(&[0xed, 0xab, 0xee, 0xdb][..]) {
        return Err("not an RPM: no RPM lead".to_owned());
    }
    let header = &start[LEAD..LEAD + 16];
    if header[..3] != HEADER_MAGIC {
        return Err("not an RPM: no signature header after the lead".to_owned());
    }
    let be = |bytes: &[u8]| u64::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
    let entries = be(&header[8..12]);
    let data = be(&header[12..16]);
    let size = 16 + 16 * entries + data;
    Ok(LEAD as u64 + size.div_ceil(8) * 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lead, a signature header of one entry with `data` bytes of data,
    /// its padding, and `rest` (what SIGMD5 covers).
    fn fake_rpm(data: u32, rest: &[u8]) -> Vec<u8> {
        let mut file = vec![0xed, 0xab, 0xee, 0xdb];
        file.resize(LEAD, 0);
        file.extend_from_slice(&[0x8e, 0xad, 0xe8, 1, 0, 0, 0, 0]);
        file.extend_from_slice(&1u32.to_be_bytes());
        file.extend_from_slice(&data.to_be_bytes());
        file.extend_from_slice(&[0; 16]);
        file.extend(std::iter::repeat_n(7u8, data as usize));
        while file.len() % 8 != 0 {
            file.push(0);
        }
        file.extend_from_slice(rest);
        file
    }

    fn md5_hex(bytes: &[u8]) -> String {
        Md5::digest(bytes)
            .iter()
            .map(|it| format!("{it:02x}"))
            .collect()
    }

    #[test]
    fn sigmd5_covers_what_follows_the_padded_signature() {
        let rest = b"\x8e\xad\xe8\x01 header and payload";
        for data in [0, 3, 8, 13] {
            let file = fake_rpm(data, rest);
            // Any chunking gives the same digest.
            for size in [1, 5, 64, 4096] {
                let mut digest = RpmDigest::default();
                for chunk in file.chunks(size) {
                    digest.update(chunk);
                }
                assert_eq!(
                    digest.finish().unwrap(),
                    md5_hex(rest),
                    "data {data}, chunks {size}"
                );
            }
        }
    }

    #[test]
    fn what_is_not_an_rpm_says_so() {
        let mut digest = RpmDigest::default();
        digest.update(&[b'x'; 200]);
        assert_eq!(digest.finish().unwrap_err(), "not an RPM: no RPM lead");
        let mut digest = RpmDigest::default();
        digest.update(&fake_rpm(40, b"")[..LEAD + 30]);
        assert!(digest.finish().unwrap_err().contains("ends inside"));
    }

    #[test]
    fn paths_follow_the_kojipkgs_layout() {
        let build: Build = serde_json::from_value(serde_json::json!({
            "id": 1, "name": "foo", "version": "1.2", "release": "3.fc44",
            "nvr": "foo-1.2-3.fc44", "state": 1, "volume_name": "DEFAULT"
        }))
        .unwrap();
        let rpm: Rpm = serde_json::from_value(serde_json::json!({
            "id": 9, "name": "foo-libs", "version": "1.2", "release": "3.fc44", "arch": "x86_64"
        }))
        .unwrap();
        let paths = PathInfo::new("https://kojipkgs.example.org/");
        assert_eq!(
            paths.rpm(&build, &rpm),
            "https://kojipkgs.example.org/packages/foo/1.2/3.fc44/x86_64/foo-libs-1.2-3.fc44.x86_64.rpm"
        );
        let archived = Build {
            volume_name: Some("fedora_koji_archive05".to_owned()),
            ..build.clone()
        };
        assert_eq!(
            paths.build_log(&archived, "noarch", "build.log"),
            "https://kojipkgs.example.org/vol/fedora_koji_archive05/packages/foo/1.2/3.fc44/data/logs/noarch/build.log"
        );
    }

    #[test]
    fn cache_paths_stay_inside_the_cache() {
        let downloader = Downloader::new("/cache").unwrap();
        assert_eq!(
            downloader
                .cache_path("http://127.0.0.1:8080/packages/a/b.rpm")
                .unwrap(),
            PathBuf::from("/cache/127.0.0.1_8080/packages/a/b.rpm")
        );
        // `..` is resolved by URL parsing; what remains stays inside.
        assert_eq!(
            downloader
                .cache_path("https://h/x/../../etc/passwd")
                .unwrap(),
            PathBuf::from("/cache/h/etc/passwd")
        );
        assert!(downloader.cache_path("https://h/").is_err());
        assert!(downloader.cache_path("file:///etc/passwd").is_err());
        assert!(downloader.cache_path("https://h/a/.part-x").is_err());
    }
}
