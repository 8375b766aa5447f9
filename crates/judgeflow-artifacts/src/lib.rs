//! Artifact storage for the proxied `mlflow-artifacts` API, over the `object_store` crate (a
//! local folder now; S3, GCS and Azure are the same trait).
//!
//! Every client path goes through [`ArtifactPath::parse`] first: it is percent-decoded until
//! stable, normalised, and refused if it is absolute or climbs with `..` (MLflow has shipped
//! path-traversal CVEs here). For a local root we also refuse paths whose existing prefix is a
//! symlink leading outside the root.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ArtifactError {
    /// The path is unsafe or malformed: the client's mistake.
    #[error("Invalid path")]
    InvalidPath(String),
    #[error("No such artifact: '{0}'")]
    NotFound(String),
    /// The upload body could not be read (client disconnect, size limit).
    #[error("{0}")]
    Body(String),
    #[error("artifact storage error: {0}")]
    Internal(String),
}

impl ArtifactError {
    fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }
}

/// A validated, normalised artifact path relative to the root ("" is the root itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPath(String);

impl ArtifactPath {
    /// Validates a client-supplied path.
    pub fn parse(raw: &str) -> Result<Self, ArtifactError> {
        let invalid = || ArtifactError::InvalidPath(raw.to_owned());
        // Decode repeatedly so `%252e%252e` cannot smuggle `..` past one decoding step.
        let mut decoded = raw.to_owned();
        for _ in 0..4 {
            let next = percent_encoding::percent_decode_str(&decoded)
                .decode_utf8()
                .map_err(|_| invalid())?
                .into_owned();
            if next == decoded {
                break;
            }
            decoded = next;
        }
        if decoded.contains('\0') || decoded.contains('\\') {
            return Err(invalid());
        }
        if decoded.starts_with('/') || (decoded.len() >= 2 && decoded.as_bytes()[1] == b':') {
            return Err(invalid());
        }
        let mut segments = Vec::new();
        for segment in decoded.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(invalid()),
                other => segments.push(other),
            }
        }
        Ok(Self(segments.join("/")))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last segment: the file name used in `Content-Disposition`.
    #[must_use]
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    fn object_path(&self) -> ObjectPath {
        ObjectPath::from(self.0.as_str())
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEntry {
    /// The name relative to the listed directory.
    pub path: String,
    pub is_dir: bool,
    pub file_size: Option<u64>,
}

/// A byte stream being downloaded.
pub struct Download {
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes, ArtifactError>>,
}

/// The artifact root: an object store plus, for local folders, the folder for symlink checks.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    local_root: Option<PathBuf>,
}

impl ArtifactStore {
    /// Opens a destination: a local path or `file://` URI (created if missing).
    pub fn open(destination: &str) -> Result<Self, ArtifactError> {
        let local = destination.strip_prefix("file://").unwrap_or(destination);
        if local.contains("://") {
            return Err(ArtifactError::Internal(format!(
                "Unsupported artifact destination '{destination}': only local folders are supported in this build"
            )));
        }
        std::fs::create_dir_all(local).map_err(ArtifactError::internal)?;
        let root = std::fs::canonicalize(local).map_err(ArtifactError::internal)?;
        let store = LocalFileSystem::new_with_prefix(&root).map_err(ArtifactError::internal)?;
        Ok(Self {
            store: Arc::new(store),
            local_root: Some(root),
        })
    }

    /// Refuses a path whose deepest existing ancestor resolves outside the root (a symlink).
    fn check_confined(&self, path: &ArtifactPath) -> Result<(), ArtifactError> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let mut candidate = root.join(path.as_str());
        loop {
            if std::fs::symlink_metadata(&candidate).is_ok() {
                let resolved = std::fs::canonicalize(&candidate)
                    .map_err(|_| ArtifactError::InvalidPath(path.0.clone()))?;
                if !resolved.starts_with(root) {
                    return Err(ArtifactError::InvalidPath(path.0.clone()));
                }
                return Ok(());
            }
            if !candidate.pop() || !candidate.starts_with(root) {
                return Ok(());
            }
        }
    }

    /// Streams `body` into `path`, replacing any existing file. The file appears whole or not
    /// at all: object stores publish multipart uploads only on completion.
    pub async fn put<S, E>(&self, path: &ArtifactPath, body: S) -> Result<u64, ArtifactError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        if path.is_root() {
            return Err(ArtifactError::InvalidPath(String::new()));
        }
        self.check_confined(path)?;
        if let Some(root) = &self.local_root
            && root.join(path.as_str()).is_dir()
        {
            return Err(ArtifactError::InvalidPath(path.0.clone()));
        }
        let upload = self
            .store
            .put_multipart(&path.object_path())
            .await
            .map_err(ArtifactError::internal)?;
        let mut writer = WriteMultipart::new(upload);
        let mut body = body;
        let mut written = 0_u64;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(ArtifactError::Body(error.to_string()));
                }
            };
            written += chunk.len() as u64;
            writer
                .wait_for_capacity(4)
                .await
                .map_err(ArtifactError::internal)?;
            writer.put(chunk);
        }
        writer.finish().await.map_err(ArtifactError::internal)?;
        Ok(written)
    }

    pub async fn get(&self, path: &ArtifactPath) -> Result<Download, ArtifactError> {
        self.check_confined(path)?;
        if path.is_root() {
            return Err(ArtifactError::NotFound(String::new()));
        }
        match self.store.get(&path.object_path()).await {
            Ok(result) => {
                let size = result.meta.size;
                let stream = result
                    .into_stream()
                    .map_err(ArtifactError::internal)
                    .boxed();
                Ok(Download { size, stream })
            }
            Err(object_store::Error::NotFound { .. }) => {
                Err(ArtifactError::NotFound(path.0.clone()))
            }
            Err(error) => {
                // A directory is not downloadable; report it as missing like MLflow does.
                if self
                    .local_root
                    .as_ref()
                    .is_some_and(|root| root.join(path.as_str()).is_dir())
                {
                    Err(ArtifactError::NotFound(path.0.clone()))
                } else {
                    Err(ArtifactError::internal(error))
                }
            }
        }
    }

    /// One directory level. A missing directory, or a path naming a file, lists nothing.
    pub async fn list(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>, ArtifactError> {
        self.check_confined(dir)?;
        let prefix = (!dir.is_root()).then(|| dir.object_path());
        let listing = match self.store.list_with_delimiter(prefix.as_ref()).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(error) => {
                if self
                    .local_root
                    .as_ref()
                    .is_some_and(|root| !root.join(dir.as_str()).is_dir())
                {
                    return Ok(Vec::new());
                }
                return Err(ArtifactError::internal(error));
            }
        };
        let name = |p: &ObjectPath| p.filename().unwrap_or_default().to_owned();
        let mut entries: Vec<ArtifactEntry> = listing
            .common_prefixes
            .iter()
            .map(|p| ArtifactEntry {
                path: name(p),
                is_dir: true,
                file_size: None,
            })
            .chain(listing.objects.iter().map(|o| ArtifactEntry {
                path: name(&o.location),
                is_dir: false,
                file_size: Some(o.size),
            }))
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    /// Deletes a file, or a directory and everything under it.
    pub async fn delete(&self, path: &ArtifactPath) -> Result<(), ArtifactError> {
        self.check_confined(path)?;
        if path.is_root() {
            return Err(ArtifactError::InvalidPath(String::new()));
        }
        let location = path.object_path();
        let mut under: Vec<ObjectPath> = self
            .store
            .list(Some(&location))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .unwrap_or_default();
        under.push(location);
        for location in under {
            match self.store.delete(&location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => {
                    // Deleting a directory path itself fails on local disks; its files are gone.
                    if !self
                        .local_root
                        .as_ref()
                        .is_some_and(|root| root.join(location.as_ref()).is_dir())
                    {
                        return Err(ArtifactError::internal(error));
                    }
                }
            }
        }
        if let Some(root) = &self.local_root {
            let dir = root.join(path.as_str());
            if dir.is_dir() {
                tokio::fs::remove_dir_all(&dir)
                    .await
                    .map_err(ArtifactError::internal)?;
            }
        }
        Ok(())
    }

    /// The local folder, when the root is one.
    #[must_use]
    pub fn local_root(&self) -> Option<&FsPath> {
        self.local_root.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused_in_every_spelling() {
        for bad in [
            "../x",
            "a/../../x",
            "%2e%2e/x",
            "a/%2F../x",
            "%252e%252e/x",
            "/etc/passwd",
            "C:/x",
            "a\\..\\b",
            "..",
            "a/..%2f..%2fb",
        ] {
            assert!(ArtifactPath::parse(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(
            ArtifactPath::parse("1/abc/artifacts/./x.txt")
                .unwrap()
                .as_str(),
            "1/abc/artifacts/x.txt"
        );
        assert_eq!(ArtifactPath::parse("a..b/c").unwrap().as_str(), "a..b/c");
        assert!(ArtifactPath::parse("").unwrap().is_root());
    }

    fn body(data: &'static [u8]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures::stream::iter(vec![Ok(Bytes::from_static(data))])
    }

    #[tokio::test]
    async fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path().to_str().unwrap()).unwrap();
        let path = ArtifactPath::parse("1/run/artifacts/dir/a.txt").unwrap();
        assert_eq!(store.put(&path, body(b"hello")).await.unwrap(), 5);
        let download = store.get(&path).await.unwrap();
        assert_eq!(download.size, 5);
        let bytes: Vec<Bytes> = download.stream.try_collect().await.unwrap();
        assert_eq!(bytes.concat(), b"hello");
        let listing = store
            .list(&ArtifactPath::parse("1/run/artifacts").unwrap())
            .await
            .unwrap();
        assert_eq!(
            listing,
            vec![ArtifactEntry {
                path: "dir".into(),
                is_dir: true,
                file_size: None
            }]
        );
        assert!(
            store.list(&path).await.unwrap().is_empty(),
            "a file lists as empty"
        );
        assert!(
            store
                .list(&ArtifactPath::parse("nope").unwrap())
                .await
                .unwrap()
                .is_empty()
        );
        store
            .delete(&ArtifactPath::parse("1/run/artifacts/dir").unwrap())
            .await
            .unwrap();
        assert!(matches!(
            store.get(&path).await,
            Err(ArtifactError::NotFound(_))
        ));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn symlinks_out_of_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
        let store = ArtifactStore::open(dir.path().to_str().unwrap()).unwrap();
        let path = ArtifactPath::parse("escape/secret").unwrap();
        assert!(matches!(
            store.get(&path).await,
            Err(ArtifactError::InvalidPath(_))
        ));
        assert!(matches!(
            store
                .put(&ArtifactPath::parse("escape/new").unwrap(), body(b"x"))
                .await,
            Err(ArtifactError::InvalidPath(_))
        ));
        assert!(!outside.path().join("new").exists());
    }
}
