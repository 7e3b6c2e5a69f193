//! svc.startd's repository: what the daemon must remember across restarts, in one SQLite
//! file (`ROOT/repository.db`).
//!
//! Eight tables (schema version 2, kept in `PRAGMA user_version`; version 1 had the first
//! five, and opening one adds the other three):
//!
//! - `manifest(path PRIMARY KEY, hash, text BLOB, imported_at)`: imported manifests, with the
//!   hex content hash the caller computed and the wall-clock import time (ms since the epoch).
//! - `admin_state(fmri PRIMARY KEY, enabled NULL|0|1, maintenance 0|1)`: what `svcadm`
//!   set persistently (`AdminState`).
//! - `instance(fmri PRIMARY KEY, state, since)`: each instance's last state and when it was
//!   entered, so a restarted daemon knows what was online.
//! - `process(fmri, pid, start_ticks, main, PRIMARY KEY (fmri, pid))`: the running processes
//!   of each instance; `start_ticks` is field 22 of `/proc/PID/stat`, which tells a reused
//!   pid from ours; `main` marks the main process of a child-duration instance.
//! - `history(id INTEGER PRIMARY KEY, fmri, from_state, state, next_state, reason, at)`:
//!   transitions in insertion order, at most `HISTORY_PER_INSTANCE` rows per instance.
//! - `imported(path PRIMARY KEY)`: manifests `svccfg import` brought in from outside the
//!   manifest directories; their text in `manifest` is re-imported at every start.
//! - `deleted(service, instance, path, hash, PRIMARY KEY (service, instance, path))`: what
//!   `svccfg delete` deleted (`instance` empty for a whole service), and the manifest that
//!   delivered it with its hash then: an import of that file with that hash leaves it out.
//! - `property_override(service, instance, pg, pg_type, name, type, vals, PRIMARY KEY
//!   (service, instance, pg, name))`: what `svccfg setprop` set (`instance` empty for the
//!   service), `vals` a JSON array of the values as text.
//!
//! States and reasons are stored as their serde names (`online`, `method_failed`); a row
//! that no longer parses (an older or newer spelling, a bad FMRI) is skipped when read.
//! Integers are stored as SQLite's signed 64 bits, bit for bit, so any `u64` round-trips.
//! There are no foreign keys: `forget` deletes from every table itself.
//!
//! What is not here: deciding anything. The engine decides; the daemon's loop collects what
//! one turn wants written in a `Changes` and calls `apply` once.
//!
//! **Crash safety.** The database runs in WAL mode, and each `apply` is one `BEGIN
//! IMMEDIATE` ... `COMMIT` transaction. A commit is a single append of a commit frame to the
//! WAL, so a SIGKILL at any moment leaves either the whole turn or none of it; the next open
//! replays the committed frames and ignores a torn tail. With `synchronous=NORMAL` a power
//! loss may drop the last turns (never corrupt), and a process crash loses nothing that was
//! committed. When the disk is full or read-only, the failing statement makes `apply` return
//! an error and the transaction rolls back, leaving what was committed before untouched;
//! the daemon keeps its `Changes`, `merge`s the next turns into them, and retries later.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use smf_core::engine::{AdminState, Transition};
use smf_core::fmri::Fmri;
use smf_core::state::{State, Timestamp};

/// The most transitions kept per instance; older ones are pruned when the instance is
/// written to.
pub const HISTORY_PER_INSTANCE: usize = 100;

/// The schema this code reads and writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 2;

/// How long a write waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS manifest (
    path TEXT PRIMARY KEY NOT NULL,
    hash TEXT NOT NULL,
    text BLOB NOT NULL,
    imported_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_state (
    fmri TEXT PRIMARY KEY NOT NULL,
    enabled INTEGER,
    maintenance INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS instance (
    fmri TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    since INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS process (
    fmri TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,
    main INTEGER NOT NULL,
    PRIMARY KEY (fmri, pid)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    fmri TEXT NOT NULL,
    from_state TEXT NOT NULL,
    state TEXT NOT NULL,
    next_state TEXT,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
);
-- Index entries are ordered by (fmri, rowid): one instance's history, oldest first.
CREATE INDEX IF NOT EXISTS history_by_fmri ON history (fmri);
-- Version 2: svccfg's configuration.
CREATE TABLE IF NOT EXISTS imported (
    path TEXT PRIMARY KEY NOT NULL
);
CREATE TABLE IF NOT EXISTS deleted (
    service TEXT NOT NULL,
    instance TEXT NOT NULL,
    path TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (service, instance, path)
);
CREATE TABLE IF NOT EXISTS property_override (
    service TEXT NOT NULL,
    instance TEXT NOT NULL,
    pg TEXT NOT NULL,
    pg_type TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    vals TEXT NOT NULL,
    PRIMARY KEY (service, instance, pg, name)
);
";

/// Deletes everything about one instance (`?1`).
const FORGET: [&str; 4] = [
    "DELETE FROM admin_state WHERE fmri = ?1",
    "DELETE FROM instance WHERE fmri = ?1",
    "DELETE FROM process WHERE fmri = ?1",
    "DELETE FROM history WHERE fmri = ?1",
];

/// Why the repository could not be opened, read or written. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The file could not be opened or is not an SQLite database.
    #[error("cannot open the repository {}: {source}", .path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// SQLite would not switch the database to WAL mode.
    #[error("cannot use the repository {}: journal mode is {mode}, not wal", .path.display())]
    JournalMode {
        /// The database file.
        path: PathBuf,
        /// The mode SQLite kept.
        mode: String,
    },
    /// The database was written by a newer svc.startd.
    #[error(
        "cannot use the repository {}: schema version {found} is newer than the supported {supported}",
        .path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The file's `user_version`.
        found: i64,
        /// The newest version this code knows.
        supported: i64,
    },
    /// A read failed.
    #[error("cannot read the repository {}: {source}", .path.display())]
    Read {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A write failed (full or read-only disk, lock held too long); nothing was written.
    #[error("cannot write to the repository {}: {source}", .path.display())]
    Write {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A new repository could not be made (its temporary file synced or renamed).
    #[error("cannot create the repository {}: {source}", .path.display())]
    Create {
        /// The file that failed.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// An imported manifest, as the repository keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    /// Where it was read from.
    pub path: String,
    /// The caller's hex hash of `text`.
    pub hash: String,
    /// The file's bytes.
    pub text: Vec<u8>,
}

/// A property `svccfg setprop` set, as the repository keeps it.
pub type StoredOverride = smf_core::manifest::customize::Override;

/// A service (or instance) `svccfg delete` deleted, with the manifest that delivered it and
/// that manifest's hash at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// The service.
    pub service: String,
    /// The instance, or `None` for the whole service.
    pub instance: Option<String>,
    /// The manifest's path (empty when none was known).
    pub path: String,
    /// Its hash then.
    pub hash: String,
}

/// One running process of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredProcess {
    /// Its pid.
    pub pid: u32,
    /// Its start time (`/proc/PID/stat` field 22, clock ticks since boot).
    pub start_ticks: u64,
    /// The main process of a child-duration instance.
    pub main: bool,
}

/// An instance's last known state and processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInstance {
    /// The instance.
    pub fmri: Fmri,
    /// Its last state.
    pub state: State,
    /// When it entered that state.
    pub since: Timestamp,
    /// Its processes when last written.
    pub processes: Vec<StoredProcess>,
}

/// Everything one turn of the daemon's loop wants written, applied in ONE transaction.
///
/// `apply` first forgets instances and removes manifests, then writes the rest in order, so
/// a later entry about the same thing wins. To forget an instance after recording something
/// about it, `merge` a `Changes` holding only the forget: `merge` drops what came before.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Persistent admin states to store.
    pub admin: Vec<(Fmri, AdminState)>,
    /// Transitions to append to the history; each also sets its instance's last state.
    pub transitions: Vec<Transition>,
    /// Replaces each instance's stored processes.
    pub processes: Vec<(Fmri, Vec<StoredProcess>)>,
    /// Instances to delete everything about.
    pub forget: Vec<Fmri>,
    /// Manifests to store, replacing any stored under the same path.
    pub manifests: Vec<StoredManifest>,
    /// Paths of manifests to delete.
    pub removed_manifests: Vec<String>,
}

impl Changes {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.admin.is_empty()
            && self.transitions.is_empty()
            && self.processes.is_empty()
            && self.forget.is_empty()
            && self.manifests.is_empty()
            && self.removed_manifests.is_empty()
    }

    /// Appends `later` (the next turn's changes) so that applying the result equals applying
    /// `self` then `later`. Entries `later` replaces are dropped, the rest keep their order,
    /// and only the newest `HISTORY_PER_INSTANCE` transitions of an instance are kept, so
    /// changes held during a long outage stay bounded.
    pub fn merge(&mut self, later: Changes) {
        if !later.forget.is_empty() {
            let forgotten: HashSet<&Fmri> = later.forget.iter().collect();
            self.admin.retain(|(fmri, _)| !forgotten.contains(fmri));
            self.transitions
                .retain(|transition| !forgotten.contains(&transition.fmri));
            self.processes.retain(|(fmri, _)| !forgotten.contains(fmri));
        }
        if !later.removed_manifests.is_empty() {
            let removed: HashSet<&String> = later.removed_manifests.iter().collect();
            self.manifests
                .retain(|manifest| !removed.contains(&manifest.path));
        }
        extend_replacing(&mut self.admin, later.admin, |(fmri, _)| fmri.clone());
        extend_replacing(&mut self.processes, later.processes, |(fmri, _)| {
            fmri.clone()
        });
        extend_replacing(&mut self.manifests, later.manifests, |manifest| {
            manifest.path.clone()
        });
        extend_replacing(&mut self.forget, later.forget, Fmri::clone);
        extend_replacing(
            &mut self.removed_manifests,
            later.removed_manifests,
            String::clone,
        );
        self.transitions.extend(later.transitions);
        keep_newest_transitions(&mut self.transitions);
    }
}

/// Appends `later` to `earlier`, dropping the entries of `earlier` with a key in `later`.
fn extend_replacing<T, K: Hash + Eq>(earlier: &mut Vec<T>, later: Vec<T>, key: impl Fn(&T) -> K) {
    if later.is_empty() {
        return;
    }
    let replaced: HashSet<K> = later.iter().map(&key).collect();
    earlier.retain(|item| !replaced.contains(&key(item)));
    earlier.extend(later);
}

/// Drops all but the newest `HISTORY_PER_INSTANCE` transitions of each instance.
fn keep_newest_transitions(transitions: &mut Vec<Transition>) {
    if transitions.len() <= HISTORY_PER_INSTANCE {
        return;
    }
    let mut keep: Vec<bool> = {
        let mut newer: HashMap<&Fmri, usize> = HashMap::new();
        transitions
            .iter()
            .rev()
            .map(|transition| {
                let count = newer.entry(&transition.fmri).or_default();
                *count += 1;
                *count <= HISTORY_PER_INSTANCE
            })
            .collect()
    };
    keep.reverse();
    let mut keep = keep.into_iter();
    transitions.retain(|_| keep.next().unwrap_or(true));
}

/// svc.startd's SQLite repository (see the module doc).
pub struct Repository {
    connection: Connection,
    path: PathBuf,
}

impl Repository {
    /// Opens the database at `path`, creating it and its schema if needed.
    pub fn open(path: &Path) -> Result<Repository, RepositoryError> {
        let open_error = |source| RepositoryError::Open {
            path: path.to_owned(),
            source,
        };
        if matches!(std::fs::symlink_metadata(path), Err(error) if error.kind() == std::io::ErrorKind::NotFound)
        {
            create(path)?;
        }
        let mut connection = Connection::open(path).map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // The first statement reads the header: a file that is not SQLite fails here.
        use_wal(&connection, path)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        // A small page cache (SQLite's default is 2 MiB): svc.startd writes far more than it
        // reads, and its memory is part of what it costs to run.
        connection
            .pragma_update(None, "cache_size", -256)
            .map_err(open_error)?;
        connection.set_prepared_statement_cache_capacity(32);

        let found = schema_version(&connection).map_err(open_error)?;
        check_schema_version(path, found)?;
        if found < SCHEMA_VERSION {
            // Idempotent (`IF NOT EXISTS`), so a concurrent opener doing the same is harmless.
            create_schema(&mut connection).map_err(open_error)?;
        }
        Ok(Repository {
            connection,
            path: path.to_owned(),
        })
    }

    /// Opens an existing database read-only, so that every write fails (for tests).
    #[cfg(test)]
    fn open_read_only(path: &Path) -> Result<Repository, RepositoryError> {
        let open_error = |source| RepositoryError::Open {
            path: path.to_owned(),
            source,
        };
        let connection =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(open_error)?;
        check_schema_version(path, schema_version(&connection).map_err(open_error)?)?;
        Ok(Repository {
            connection,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `changes` in one transaction: all of them, or (with an error) none.
    pub fn apply(&mut self, changes: &Changes) -> Result<(), RepositoryError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write(|transaction| write_changes(transaction, changes, now_millis()))
    }

    /// Every stored manifest, by path.
    pub fn manifests(&self) -> Result<Vec<StoredManifest>, RepositoryError> {
        self.read_rows(
            "SELECT path, hash, text FROM manifest ORDER BY path",
            [],
            |row| {
                Some(StoredManifest {
                    path: row.get(0).ok()?,
                    hash: row.get(1).ok()?,
                    text: row.get(2).ok()?,
                })
            },
        )
    }

    /// The stored text of the manifest imported from `path`, if there is one.
    pub fn manifest_text(&self, path: &str) -> Result<Option<Vec<u8>>, RepositoryError> {
        let rows = self.read_rows("SELECT text FROM manifest WHERE path = ?1", [path], |row| {
            row.get(0).ok()
        })?;
        Ok(rows.into_iter().next())
    }

    /// Every stored admin state, by FMRI.
    pub fn admin_states(&self) -> Result<Vec<(Fmri, AdminState)>, RepositoryError> {
        let sql = "SELECT fmri, enabled, maintenance FROM admin_state ORDER BY fmri";
        self.read_rows(sql, [], |row| {
            let fmri = Fmri::parse(&row.get::<_, String>(0).ok()?).ok()?;
            let admin = AdminState {
                enabled: row.get(1).ok()?,
                maintenance: row.get(2).ok()?,
            };
            Some((fmri, admin))
        })
    }

    /// Every instance with a last state, by FMRI, with its processes in the order written.
    pub fn instances(&self) -> Result<Vec<StoredInstance>, RepositoryError> {
        let sql = "SELECT fmri, pid, start_ticks, main FROM process ORDER BY rowid";
        let processes = self.read_rows(sql, [], |row| {
            let fmri: String = row.get(0).ok()?;
            let process = StoredProcess {
                pid: u32::try_from(row.get::<_, i64>(1).ok()?).ok()?,
                start_ticks: from_sql_integer(row.get(2).ok()?),
                main: row.get(3).ok()?,
            };
            Some((fmri, process))
        })?;
        let mut by_fmri: HashMap<String, Vec<StoredProcess>> = HashMap::new();
        for (fmri, process) in processes {
            by_fmri.entry(fmri).or_default().push(process);
        }
        let sql = "SELECT fmri, state, since FROM instance ORDER BY fmri";
        self.read_rows(sql, [], |row| {
            let text: String = row.get(0).ok()?;
            Some(StoredInstance {
                fmri: Fmri::parse(&text).ok()?,
                state: from_serde_name(&row.get::<_, String>(1).ok()?)?,
                since: Timestamp(from_sql_integer(row.get(2).ok()?)),
                processes: by_fmri.remove(&text).unwrap_or_default(),
            })
        })
    }

    /// The newest `limit` transitions of `fmri`, oldest first.
    pub fn history(&self, fmri: &Fmri, limit: usize) -> Result<Vec<Transition>, RepositoryError> {
        let sql = "SELECT from_state, state, next_state, reason, at FROM history \
                   WHERE fmri = ?1 ORDER BY id DESC LIMIT ?2";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut transitions = self.read_rows(sql, params![fmri.as_str(), limit], |row| {
            let next_state = match row.get::<_, Option<String>>(2).ok()? {
                Some(name) => Some(from_serde_name(&name)?),
                None => None,
            };
            Some(Transition {
                fmri: fmri.clone(),
                from: from_serde_name(&row.get::<_, String>(0).ok()?)?,
                state: from_serde_name(&row.get::<_, String>(1).ok()?)?,
                next_state,
                reason: from_serde_name(&row.get::<_, String>(3).ok()?)?,
                at: Timestamp(from_sql_integer(row.get(4).ok()?)),
            })
        })?;
        transitions.reverse();
        Ok(transitions)
    }

    // ----- svccfg's configuration (written at once, not through `Changes`) --------------

    /// The manifests `svccfg import` brought in from outside the manifest directories, with
    /// their stored text, by path.
    pub fn imported(&self) -> Result<Vec<StoredManifest>, RepositoryError> {
        self.read_rows(
            "SELECT manifest.path, manifest.hash, manifest.text FROM imported \
             JOIN manifest ON manifest.path = imported.path ORDER BY manifest.path",
            [],
            |row| {
                Some(StoredManifest {
                    path: row.get(0).ok()?,
                    hash: row.get(1).ok()?,
                    text: row.get(2).ok()?,
                })
            },
        )
    }

    /// The paths of the manifests `svccfg import` brought in.
    pub fn imported_paths(&self) -> Result<HashSet<String>, RepositoryError> {
        let paths = self.read_rows("SELECT path FROM imported", [], |row| row.get(0).ok())?;
        Ok(paths.into_iter().collect())
    }

    /// Remembers `add` as imported by svccfg, and forgets `remove`.
    pub fn set_imported(
        &mut self,
        add: &[String],
        remove: &[String],
    ) -> Result<(), RepositoryError> {
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        self.write(|connection| {
            let mut insert =
                connection.prepare_cached("INSERT OR IGNORE INTO imported (path) VALUES (?1)")?;
            for path in add {
                insert.execute([path])?;
            }
            let mut delete = connection.prepare_cached("DELETE FROM imported WHERE path = ?1")?;
            for path in remove {
                delete.execute([path])?;
            }
            Ok(())
        })
    }

    /// Every deletion, by service.
    pub fn deletions(&self) -> Result<Vec<Deletion>, RepositoryError> {
        self.read_rows(
            "SELECT service, instance, path, hash FROM deleted ORDER BY service, instance, path",
            [],
            |row| {
                let instance: String = row.get(1).ok()?;
                Some(Deletion {
                    service: row.get(0).ok()?,
                    instance: (!instance.is_empty()).then_some(instance),
                    path: row.get(2).ok()?,
                    hash: row.get(3).ok()?,
                })
            },
        )
    }

    /// Records `deletions` (of one service or instance) and forgets the overrides of what
    /// they delete, in one transaction; then drops the deletions in `revived`.
    pub fn record_deletions(
        &mut self,
        deletions: &[Deletion],
        revived: &[Deletion],
    ) -> Result<(), RepositoryError> {
        if deletions.is_empty() && revived.is_empty() {
            return Ok(());
        }
        self.write(|connection| {
            let mut insert = connection.prepare_cached(
                "INSERT OR REPLACE INTO deleted (service, instance, path, hash) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut forget_service =
                connection.prepare_cached("DELETE FROM property_override WHERE service = ?1")?;
            let mut forget_instance = connection.prepare_cached(
                "DELETE FROM property_override WHERE service = ?1 AND instance = ?2",
            )?;
            for deletion in deletions {
                let instance = deletion.instance.as_deref().unwrap_or("");
                insert.execute(params![
                    deletion.service,
                    instance,
                    deletion.path,
                    deletion.hash
                ])?;
                match &deletion.instance {
                    None => forget_service.execute([&deletion.service])?,
                    Some(instance) => forget_instance.execute([&deletion.service, instance])?,
                };
            }
            let mut revive = connection.prepare_cached(
                "DELETE FROM deleted WHERE service = ?1 AND instance = ?2 AND path = ?3",
            )?;
            for deletion in revived {
                let instance = deletion.instance.as_deref().unwrap_or("");
                revive.execute(params![deletion.service, instance, deletion.path])?;
            }
            Ok(())
        })
    }

    /// The overrides of `service` (every service's when `None`), in the order set.
    pub fn overrides(&self, service: Option<&str>) -> Result<Vec<StoredOverride>, RepositoryError> {
        let parse = |row: &rusqlite::Row<'_>| {
            let instance: String = row.get(1).ok()?;
            let values: String = row.get(6).ok()?;
            Some(StoredOverride {
                service: row.get(0).ok()?,
                instance: (!instance.is_empty()).then_some(instance),
                group: row.get(2).ok()?,
                group_type: row.get(3).ok()?,
                name: row.get(4).ok()?,
                kind: row.get(5).ok()?,
                values: serde_json::from_str(&values).ok()?,
            })
        };
        let columns =
            "SELECT service, instance, pg, pg_type, name, type, vals FROM property_override";
        match service {
            Some(service) => self.read_rows(
                &format!("{columns} WHERE service = ?1 ORDER BY rowid"),
                [service],
                parse,
            ),
            None => self.read_rows(&format!("{columns} ORDER BY rowid"), [], parse),
        }
    }

    /// Stores an override, replacing the one of the same property.
    pub fn set_override(&mut self, value: &StoredOverride) -> Result<(), RepositoryError> {
        let values = serde_json::to_string(&value.values).unwrap_or_else(|_| "[]".into());
        self.write(|connection| {
            // Replaced in place would keep the first rowid: delete first, so the order of
            // `overrides` is the order they were last set.
            connection
                .prepare_cached(
                    "DELETE FROM property_override \
                     WHERE service = ?1 AND instance = ?2 AND pg = ?3 AND name = ?4",
                )?
                .execute(params![
                    value.service,
                    value.instance.as_deref().unwrap_or(""),
                    value.group,
                    value.name
                ])?;
            connection
                .prepare_cached(
                    "INSERT INTO property_override \
                     (service, instance, pg, pg_type, name, type, vals) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    value.service,
                    value.instance.as_deref().unwrap_or(""),
                    value.group,
                    value.group_type,
                    value.name,
                    value.kind,
                    values
                ])?;
            Ok(())
        })
    }

    /// Runs `statements` in one immediate transaction.
    fn write(
        &mut self,
        statements: impl FnOnce(&Connection) -> rusqlite::Result<()>,
    ) -> Result<(), RepositoryError> {
        let path = &self.path;
        let write_error = |source| RepositoryError::Write {
            path: path.clone(),
            source,
        };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(write_error)?;
        statements(&transaction).map_err(write_error)?;
        // On error the transaction rolls back when dropped.
        transaction.commit().map_err(write_error)
    }

    /// Runs a query, keeping the rows `parse` accepts (a row it cannot read is skipped).
    fn read_rows<T>(
        &self,
        sql: &str,
        parameters: impl rusqlite::Params,
        mut parse: impl FnMut(&rusqlite::Row<'_>) -> Option<T>,
    ) -> Result<Vec<T>, RepositoryError> {
        let read_error = |source| RepositoryError::Read {
            path: self.path.clone(),
            source,
        };
        let mut statement = self.connection.prepare_cached(sql).map_err(read_error)?;
        let mut rows = statement.query(parameters).map_err(read_error)?;
        let mut parsed = Vec::new();
        while let Some(row) = rows.next().map_err(read_error)? {
            parsed.extend(parse(row));
        }
        Ok(parsed)
    }
}

/// The user_version of the open database.
/// Makes a new repository at `path` (absent): written without a single sync in `PATH.new`,
/// synced once, then renamed into place. Made in place, a new root cost six `fsync`s (the
/// switch to WAL and the schema's transaction each sync the journal, the database and the
/// directory): 5-17 ms of svc.startd's start on this machine's ext4 (BENCHMARKS.md). A crash
/// at any moment leaves either no repository, made again at the next start, or a complete one;
/// the directory is not synced, since a rename lost with it leaves the former.
fn create(path: &Path) -> Result<(), RepositoryError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    let temporary = PathBuf::from(name);
    let create_error = |source| RepositoryError::Create {
        path: temporary.clone(),
        source,
    };
    let sqlite_error = |source| RepositoryError::Open {
        path: temporary.clone(),
        source,
    };
    // What an interrupted creation left.
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut leftover = temporary.as_os_str().to_owned();
        leftover.push(suffix);
        match std::fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(create_error(error)),
        }
    }
    let mut connection = Connection::open(&temporary).map_err(sqlite_error)?;
    connection
        .pragma_update(None, "synchronous", "OFF")
        .map_err(sqlite_error)?;
    use_wal(&connection, &temporary)?;
    create_schema(&mut connection).map_err(sqlite_error)?;
    // Closing checkpoints the WAL into the file and removes it.
    connection
        .close()
        .map_err(|(_, source)| sqlite_error(source))?;
    std::fs::File::open(&temporary)
        .and_then(|file| file.sync_all())
        .map_err(create_error)?;
    std::fs::rename(&temporary, path).map_err(create_error)
}

/// Puts the database in WAL mode (kept in its header), or says what mode SQLite kept.
fn use_wal(connection: &Connection, path: &Path) -> Result<(), RepositoryError> {
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|source| RepositoryError::Open {
            path: path.to_owned(),
            source,
        })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(RepositoryError::JournalMode {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// The tables and the schema version, in one transaction.
fn create_schema(connection: &mut Connection) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(SCHEMA)?;
    transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    transaction.commit()
}

fn schema_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn check_schema_version(path: &Path, found: i64) -> Result<(), RepositoryError> {
    if found > SCHEMA_VERSION {
        return Err(RepositoryError::NewerSchema {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// `apply`'s statements, inside its transaction.
fn write_changes(connection: &Connection, changes: &Changes, now: u64) -> rusqlite::Result<()> {
    for fmri in &changes.forget {
        for sql in FORGET {
            connection.prepare_cached(sql)?.execute([fmri.as_str()])?;
        }
    }
    let mut remove = connection.prepare_cached("DELETE FROM manifest WHERE path = ?1")?;
    for path in &changes.removed_manifests {
        remove.execute([path])?;
    }
    let mut upsert_manifest = connection.prepare_cached(
        "INSERT INTO manifest (path, hash, text, imported_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (path) DO UPDATE SET hash = excluded.hash, text = excluded.text, \
         imported_at = excluded.imported_at",
    )?;
    for manifest in &changes.manifests {
        let imported_at = to_sql_integer(now);
        upsert_manifest.execute(params![
            manifest.path,
            manifest.hash,
            manifest.text,
            imported_at
        ])?;
    }
    let mut upsert_admin = connection.prepare_cached(
        "INSERT INTO admin_state (fmri, enabled, maintenance) VALUES (?1, ?2, ?3) \
         ON CONFLICT (fmri) DO UPDATE SET enabled = excluded.enabled, \
         maintenance = excluded.maintenance",
    )?;
    for (fmri, admin) in &changes.admin {
        upsert_admin.execute(params![fmri.as_str(), admin.enabled, admin.maintenance])?;
    }

    let mut insert_history = connection.prepare_cached(
        "INSERT INTO history (fmri, from_state, state, next_state, reason, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    // The last transition of each instance gives its last state.
    let mut last: HashMap<&str, &Transition> = HashMap::new();
    for transition in &changes.transitions {
        insert_history.execute(params![
            transition.fmri.as_str(),
            serde_name(&transition.from),
            serde_name(&transition.state),
            transition.next_state.as_ref().map(serde_name),
            serde_name(&transition.reason),
            to_sql_integer(transition.at.millis()),
        ])?;
        last.insert(transition.fmri.as_str(), transition);
    }
    let mut upsert_instance = connection.prepare_cached(
        "INSERT INTO instance (fmri, state, since) VALUES (?1, ?2, ?3) \
         ON CONFLICT (fmri) DO UPDATE SET state = excluded.state, since = excluded.since",
    )?;
    let mut prune = connection.prepare_cached(
        "DELETE FROM history WHERE fmri = ?1 AND id <= \
         (SELECT id FROM history WHERE fmri = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?;
    let keep = i64::try_from(HISTORY_PER_INSTANCE).unwrap_or(i64::MAX);
    for (fmri, transition) in last {
        let since = to_sql_integer(transition.at.millis());
        upsert_instance.execute(params![fmri, serde_name(&transition.state), since])?;
        prune.execute(params![fmri, keep])?;
    }

    let mut delete_processes = connection.prepare_cached("DELETE FROM process WHERE fmri = ?1")?;
    let mut insert_process = connection.prepare_cached(
        "INSERT OR REPLACE INTO process (fmri, pid, start_ticks, main) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (fmri, processes) in &changes.processes {
        delete_processes.execute([fmri.as_str()])?;
        for process in processes {
            let start_ticks = to_sql_integer(process.start_ticks);
            insert_process.execute(params![
                fmri.as_str(),
                process.pid,
                start_ticks,
                process.main
            ])?;
        }
    }
    Ok(())
}

/// The serde name of a unit enum (`online`, `method_failed`); other shapes as JSON text.
fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        // Stored as is, and skipped when read back.
        Err(_) => String::new(),
    }
}

/// Reads what `serde_name` wrote; `None` if it no longer parses.
fn from_serde_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .ok()
        .or_else(|| serde_json::from_str(name).ok())
}

/// A `u64` as SQLite's signed integer, bit for bit (`from_sql_integer` undoes it).
fn to_sql_integer(value: u64) -> i64 {
    value as i64
}

fn from_sql_integer(value: i64) -> u64 {
    value as u64
}

/// Wall-clock milliseconds since the epoch (a manifest's import time).
fn now_millis() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use smf_core::engine::Reason;

    use super::*;

    fn fmri(name: &str) -> Fmri {
        Fmri::parse(&format!("svc:/test/{name}:default")).unwrap()
    }

    fn transition(name: &str, state: State, at: u64) -> Transition {
        Transition {
            fmri: fmri(name),
            from: State::Offline,
            state,
            next_state: (state == State::Offline).then_some(State::Online),
            reason: Reason::MethodFailed,
            at: Timestamp(at),
        }
    }

    fn sample() -> Changes {
        Changes {
            admin: vec![
                (
                    fmri("a"),
                    AdminState {
                        enabled: Some(true),
                        maintenance: false,
                    },
                ),
                (
                    fmri("b"),
                    AdminState {
                        enabled: None,
                        maintenance: true,
                    },
                ),
                (
                    fmri("c"),
                    AdminState {
                        enabled: Some(false),
                        maintenance: false,
                    },
                ),
            ],
            transitions: vec![
                transition("a", State::Offline, 1),
                transition("a", State::Online, u64::MAX),
                transition("b", State::Maintenance, 3),
            ],
            processes: vec![(
                fmri("a"),
                vec![
                    StoredProcess {
                        pid: 42,
                        start_ticks: u64::MAX,
                        main: true,
                    },
                    StoredProcess {
                        pid: 7,
                        start_ticks: 1,
                        main: false,
                    },
                ],
            )],
            forget: vec![],
            manifests: vec![StoredManifest {
                path: "/m/a.xml".into(),
                hash: "ab12".into(),
                text: vec![0, 255, b'<'],
            }],
            removed_manifests: vec![],
        }
    }

    /// Everything readable, to compare whole databases.
    type Snapshot = (
        Vec<StoredManifest>,
        Vec<(Fmri, AdminState)>,
        Vec<StoredInstance>,
        Vec<Vec<Transition>>,
    );

    fn snapshot(repository: &Repository) -> Snapshot {
        let history =
            ["a", "b", "c", "fail"].map(|name| repository.history(&fmri(name), 1000).unwrap());
        (
            repository.manifests().unwrap(),
            repository.admin_states().unwrap(),
            repository.instances().unwrap(),
            history.to_vec(),
        )
    }

    #[test]
    fn a_new_repository_is_made_aside_and_renamed_into_place() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("repository.db");
        // What a creation killed half-way left: replaced, not read.
        std::fs::write(
            directory.path().join("repository.db.new"),
            b"not a database",
        )
        .unwrap();
        std::fs::write(directory.path().join("repository.db.new-journal"), b"junk").unwrap();
        let mut repository = Repository::open(&path).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(directory.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".new"))
            .collect();
        names.sort();
        assert_eq!(names, Vec::<String>::new());
        let mode: String = repository
            .connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(
            schema_version(&repository.connection).unwrap(),
            SCHEMA_VERSION
        );
        repository.apply(&sample()).unwrap();
        drop(repository);
        let reopened = Repository::open(&path).unwrap();
        assert_eq!(reopened.manifests().unwrap(), sample().manifests);
    }

    #[test]
    fn every_kind_of_data_round_trips_and_survives_a_reopen() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("repository.db");
        let changes = sample();
        let mut repository = Repository::open(&path).unwrap();
        assert_eq!(repository.path(), path);
        repository.apply(&changes).unwrap();
        let written = snapshot(&repository);
        assert_eq!(written.0, changes.manifests);
        assert_eq!(written.1, changes.admin);
        let instances = &written.2;
        assert_eq!(instances.len(), 2);
        assert_eq!(instances[0].fmri, fmri("a"));
        assert_eq!(instances[0].state, State::Online);
        assert_eq!(instances[0].since, Timestamp(u64::MAX));
        assert_eq!(instances[0].processes, changes.processes[0].1);
        assert_eq!(instances[1].state, State::Maintenance);
        assert!(instances[1].processes.is_empty());
        assert_eq!(written.3[0], changes.transitions[..2]);
        assert_eq!(written.3[1], changes.transitions[2..]);
        drop(repository);

        let reopened = Repository::open(&path).unwrap();
        assert_eq!(snapshot(&reopened), written);
        let mode: String = reopened
            .connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn later_writes_replace_and_forget_deletes_everything() {
        let directory = tempfile::tempdir().unwrap();
        let mut repository = Repository::open(&directory.path().join("r.db")).unwrap();
        repository.apply(&sample()).unwrap();
        let replacement = StoredManifest {
            path: "/m/a.xml".into(),
            hash: "cd".into(),
            text: vec![1],
        };
        repository
            .apply(&Changes {
                admin: vec![(
                    fmri("a"),
                    AdminState {
                        enabled: Some(false),
                        maintenance: true,
                    },
                )],
                processes: vec![(
                    fmri("a"),
                    vec![StoredProcess {
                        pid: 9,
                        start_ticks: 5,
                        main: false,
                    }],
                )],
                manifests: vec![replacement.clone()],
                ..Changes::default()
            })
            .unwrap();
        assert_eq!(repository.manifests().unwrap(), [replacement]);
        assert_eq!(repository.admin_states().unwrap()[0].1.enabled, Some(false));
        assert_eq!(repository.instances().unwrap()[0].processes.len(), 1);

        repository
            .apply(&Changes {
                forget: vec![fmri("a")],
                removed_manifests: vec!["/m/a.xml".into()],
                ..Changes::default()
            })
            .unwrap();
        assert!(repository.manifests().unwrap().is_empty());
        let admin = repository.admin_states().unwrap();
        assert!(admin.iter().all(|(name, _)| *name != fmri("a")));
        assert_eq!(admin.len(), 2);
        assert_eq!(repository.instances().unwrap().len(), 1);
        assert!(repository.history(&fmri("a"), 100).unwrap().is_empty());
        let count: i64 = repository
            .connection
            .query_row("SELECT count(*) FROM process", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn history_keeps_the_newest_hundred_per_instance() {
        let directory = tempfile::tempdir().unwrap();
        let mut repository = Repository::open(&directory.path().join("r.db")).unwrap();
        let mut changes = Changes::default();
        changes.transitions.push(transition("b", State::Online, 0));
        changes
            .transitions
            .extend((0..100).map(|at| transition("a", State::Online, at)));
        repository.apply(&changes).unwrap();
        let later = (100..150)
            .map(|at| transition("a", State::Online, at))
            .collect();
        repository
            .apply(&Changes {
                transitions: later,
                ..Changes::default()
            })
            .unwrap();

        let history = repository.history(&fmri("a"), 1000).unwrap();
        assert_eq!(history.len(), HISTORY_PER_INSTANCE);
        assert_eq!(history.first().unwrap().at, Timestamp(50));
        assert_eq!(history.last().unwrap().at, Timestamp(149));
        let newest = repository.history(&fmri("a"), 3).unwrap();
        assert_eq!(
            newest.iter().map(|t| t.at.millis()).collect::<Vec<_>>(),
            [147, 148, 149]
        );
        assert_eq!(repository.history(&fmri("b"), 1000).unwrap().len(), 1);
    }

    #[test]
    fn a_failure_mid_apply_writes_nothing_and_a_retry_succeeds() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("r.db");
        let mut repository = Repository::open(&path).unwrap();
        repository.apply(&sample()).unwrap();
        let before = snapshot(&repository);

        // Processes are written last: fail there, after everything else went in.
        repository
            .connection
            .execute_batch(
                "CREATE TEMP TRIGGER fail BEFORE INSERT ON process WHEN NEW.fmri LIKE '%fail%' \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            )
            .unwrap();
        let mut changes = Changes {
            admin: vec![(
                fmri("c"),
                AdminState {
                    enabled: None,
                    maintenance: true,
                },
            )],
            transitions: vec![
                transition("fail", State::Online, 9),
                transition("a", State::Disabled, 9),
            ],
            processes: vec![(
                fmri("fail"),
                vec![StoredProcess {
                    pid: 1,
                    start_ticks: 1,
                    main: true,
                }],
            )],
            forget: vec![fmri("b")],
            manifests: vec![StoredManifest {
                path: "/m/new.xml".into(),
                hash: "0".into(),
                text: vec![],
            }],
            removed_manifests: vec!["/m/a.xml".into()],
        };
        let error = repository.apply(&changes).unwrap_err();
        assert!(matches!(error, RepositoryError::Write { .. }), "{error}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        assert_eq!(snapshot(&repository), before);

        // A read-only connection: every write fails, nothing changes.
        let mut read_only = Repository::open_read_only(&path).unwrap();
        changes.processes.clear();
        assert!(read_only.apply(&changes).is_err());
        assert_eq!(snapshot(&read_only), before);

        // A full disk (the database may not grow), then the retry once there is room.
        let pages: i64 = repository
            .connection
            .pragma_query_value(None, "page_count", |row| row.get(0))
            .unwrap();
        repository
            .connection
            .pragma_update(None, "max_page_count", pages)
            .unwrap();
        changes.manifests[0].text = vec![7; 1 << 20];
        assert!(repository.apply(&changes).is_err());
        assert_eq!(snapshot(&repository), before);
        repository
            .connection
            .pragma_update(None, "max_page_count", 1 << 30)
            .unwrap();
        repository.apply(&changes).unwrap();
        assert_eq!(repository.manifests().unwrap().len(), 1);
        assert_eq!(repository.instances().unwrap()[0].state, State::Disabled);
    }

    #[test]
    fn merge_applies_like_applying_in_sequence() {
        let first = sample();
        let second = Changes {
            admin: vec![(
                fmri("a"),
                AdminState {
                    enabled: Some(false),
                    maintenance: false,
                },
            )],
            forget: vec![fmri("b")],
            transitions: vec![transition("b", State::Online, 20)],
            removed_manifests: vec!["/m/a.xml".into()],
            ..Changes::default()
        };
        let third = Changes {
            manifests: vec![StoredManifest {
                path: "/m/a.xml".into(),
                hash: "9".into(),
                text: vec![],
            }],
            processes: vec![(fmri("a"), vec![])],
            ..Changes::default()
        };
        let directory = tempfile::tempdir().unwrap();
        let mut sequential = Repository::open(&directory.path().join("s.db")).unwrap();
        let mut merged = Repository::open(&directory.path().join("m.db")).unwrap();
        for changes in [&first, &second, &third] {
            sequential.apply(changes).unwrap();
        }
        let mut all = Changes::default();
        assert!(all.is_empty());
        for changes in [first, second, third] {
            all.merge(changes);
        }
        assert!(!all.is_empty());
        merged.apply(&all).unwrap();
        assert_eq!(snapshot(&merged), snapshot(&sequential));

        let mut many = Changes::default();
        for at in 0..150 {
            many.merge(Changes {
                transitions: vec![transition("a", State::Online, at)],
                ..Changes::default()
            });
        }
        assert_eq!(many.transitions.len(), HISTORY_PER_INSTANCE);
        assert_eq!(many.transitions[0].at, Timestamp(50));
    }

    #[test]
    fn rows_that_no_longer_parse_are_skipped() {
        let directory = tempfile::tempdir().unwrap();
        let mut repository = Repository::open(&directory.path().join("r.db")).unwrap();
        repository.apply(&sample()).unwrap();
        repository
            .connection
            .execute_batch(
                "INSERT INTO admin_state VALUES ('not an fmri', 1, 0);
                 INSERT INTO instance VALUES ('svc:/test/z:default', 'sleeping', 0);
                 INSERT INTO history (fmri, from_state, state, next_state, reason, at)
                     VALUES ('svc:/test/a:default', 'online', 'online', NULL, 'gremlins', 0);",
            )
            .unwrap();
        assert_eq!(repository.admin_states().unwrap().len(), 3);
        assert_eq!(repository.instances().unwrap().len(), 2);
        assert_eq!(repository.history(&fmri("a"), 100).unwrap().len(), 2);
    }

    #[test]
    fn opening_is_idempotent_and_refuses_newer_or_foreign_files() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("repository.db");
        drop(Repository::open(&path).unwrap());
        let repository = Repository::open(&path).unwrap();
        assert_eq!(
            schema_version(&repository.connection).unwrap(),
            SCHEMA_VERSION
        );
        repository
            .connection
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(repository);
        let error = Repository::open(&path).err().unwrap();
        assert!(
            matches!(error, RepositoryError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
            "{error}"
        );
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );

        let garbage = directory.path().join("garbage.db");
        std::fs::write(&garbage, b"this is not a database, just text\n".repeat(200)).unwrap();
        let error = Repository::open(&garbage).err().unwrap();
        assert!(matches!(error, RepositoryError::Open { .. }), "{error}");
        assert!(
            error.to_string().contains(&garbage.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn a_version_one_repository_gains_svccfgs_tables() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("r.db");
        {
            let connection = Connection::open(&path).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE manifest (path TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL, \
                     text BLOB NOT NULL, imported_at INTEGER NOT NULL);
                     INSERT INTO manifest VALUES ('/elsewhere/a.xml', 'ab', x'3c', 0);
                     PRAGMA user_version = 1;",
                )
                .unwrap();
        }
        let mut repository = Repository::open(&path).unwrap();
        assert_eq!(
            schema_version(&repository.connection).unwrap(),
            SCHEMA_VERSION
        );
        repository
            .set_imported(&["/elsewhere/a.xml".into(), "/elsewhere/b.xml".into()], &[])
            .unwrap();
        // Only paths with a stored text are returned.
        let imported = repository.imported().unwrap();
        assert_eq!(imported.len(), 1);
        assert_eq!(imported[0].path, "/elsewhere/a.xml");
        assert_eq!(imported[0].text, b"<");
        repository
            .set_imported(&[], &["/elsewhere/a.xml".into()])
            .unwrap();
        assert!(repository.imported().unwrap().is_empty());
    }

    #[test]
    fn overrides_replace_by_property_and_deletions_forget_them() {
        let directory = tempfile::tempdir().unwrap();
        let mut repository = Repository::open(&directory.path().join("r.db")).unwrap();
        let value = |instance: Option<&str>, name: &str, values: &[&str]| StoredOverride {
            service: "site/app".into(),
            instance: instance.map(str::to_string),
            group: "config".into(),
            group_type: "application".into(),
            name: name.into(),
            kind: "astring".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        repository
            .set_override(&value(None, "greeting", &["hello"]))
            .unwrap();
        repository
            .set_override(&value(Some("default"), "port", &["80"]))
            .unwrap();
        repository
            .set_override(&value(None, "greeting", &["bonjour", "le monde"]))
            .unwrap();
        let stored = repository.overrides(Some("site/app")).unwrap();
        assert_eq!(
            stored,
            [
                value(Some("default"), "port", &["80"]),
                value(None, "greeting", &["bonjour", "le monde"])
            ]
        );
        assert!(repository.overrides(Some("site/other")).unwrap().is_empty());
        assert_eq!(repository.overrides(None).unwrap().len(), 2);

        let deletion = Deletion {
            service: "site/app".into(),
            instance: Some("default".into()),
            path: "/m/app.xml".into(),
            hash: "12".into(),
        };
        repository
            .record_deletions(std::slice::from_ref(&deletion), &[])
            .unwrap();
        assert_eq!(
            repository.deletions().unwrap(),
            std::slice::from_ref(&deletion)
        );
        // The instance's overrides went with it; the service's stay.
        assert_eq!(
            repository.overrides(None).unwrap(),
            [value(None, "greeting", &["bonjour", "le monde"])]
        );
        repository.record_deletions(&[], &[deletion]).unwrap();
        assert!(repository.deletions().unwrap().is_empty());
    }

    /// Timing, not an assertion: `cargo test --release -p smf-restarter --lib
    /// repository::tests::apply_cost -- --nocapture`.
    #[test]
    fn apply_cost() {
        let directory = tempfile::tempdir().unwrap();
        let mut repository = Repository::open(&directory.path().join("r.db")).unwrap();
        let names: Vec<String> = (0..10_000).map(|n| format!("s{n}")).collect();
        for (label, rounds) in [
            ("10,000 transitions, 10,000 instances", 1),
            ("30,000 transitions, 10,000 instances", 3),
        ] {
            let transitions: Vec<Transition> = (0..rounds)
                .flat_map(|round| {
                    names
                        .iter()
                        .map(move |name| transition(name, State::Online, round))
                })
                .collect();
            let changes = Changes {
                transitions,
                ..Changes::default()
            };
            let started = std::time::Instant::now();
            repository.apply(&changes).unwrap();
            let elapsed = started.elapsed();
            let per_transition = elapsed / u32::try_from(changes.transitions.len()).unwrap();
            eprintln!("apply: {label}: {elapsed:?} ({per_transition:?} per transition)");
        }
        let started = std::time::Instant::now();
        for at in 0..1000 {
            let transitions = vec![transition("s1", State::Online, at)];
            repository
                .apply(&Changes {
                    transitions,
                    ..Changes::default()
                })
                .unwrap();
        }
        eprintln!(
            "apply: one transition per call: {:?} per call",
            started.elapsed() / 1000
        );
    }
}
