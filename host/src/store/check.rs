//! `stepwasm check`: reads every record of a store file (read-only, the writer need not be
//! stopped) and names each one that fails its checksum, does not decode, or is referred
//! to but missing. Damage is data ([`StoreError::Corrupt`], one per record); only a file
//! that cannot be read at all is an error.

use std::collections::HashMap;
use std::path::Path;

use redb::{ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable};
use sha2::Digest as _;

use super::records::{
    ActivityRecord, ComponentVersion, ExecutionRecord, StateMachineVersion, TenantRecord,
};
use super::schema::{self, SCHEMA_VERSION};
use super::{Result, StoreError, decode, decode_json, decode_u64, seal, tail};
use crate::engine::history::HistoryEvent;

/// What a check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Records read.
    pub records: u64,
    /// Each damaged record, as the error reading it gives.
    pub damaged: Vec<StoreError>,
}

/// Checks the store file at `path`.
pub fn check_file(path: &Path) -> Result<CheckReport> {
    let db = ReadOnlyDatabase::open(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let txn = db.begin_read()?;
    let meta = txn.open_table(schema::META)?;
    let version = match meta.get("schema_version")? {
        Some(v) => decode_u64(v.value(), "meta")?,
        None => 0,
    };
    if version != SCHEMA_VERSION {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            detail: format!(
                "schema version {version}, this build checks version {SCHEMA_VERSION} \
                 (open it once with `serve` to migrate it)"
            ),
        });
    }
    let mut report = CheckReport::default();
    // A table redb itself cannot walk is one damaged record named after the table.
    let mut walk =
        |table: &'static str, f: &dyn Fn(&ReadTransaction, &mut CheckReport) -> Result<()>| {
            if let Err(e) = f(&txn, &mut report) {
                report.damaged.push(match e {
                    e @ StoreError::Corrupt { .. } => e,
                    other => StoreError::Corrupt {
                        table,
                        record: "(table)".into(),
                        detail: other.to_string(),
                    },
                });
            }
        };
    walk("tenants", &|txn, r| {
        for row in txn.open_table(schema::TENANTS)?.iter()? {
            let (k, v) = row?;
            r.note(decode::<TenantRecord>(v.value(), "tenants", k.value()).map(drop));
        }
        Ok(())
    });
    walk("components", &|txn, r| {
        for row in txn.open_table(schema::COMPONENTS)?.iter()? {
            let (k, v) = row?;
            let (t, n, ver) = k.value();
            let name = format!("{t}/{n}:{ver}");
            r.note(decode::<ComponentVersion>(v.value(), "components", &name).map(drop));
        }
        Ok(())
    });
    walk("activities", &|txn, r| {
        let table = match txn.open_table(schema::ACTIVITIES) {
            Ok(t) => t,
            // A store no activity was ever written to (the table came without a bump).
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for row in table.iter()? {
            let (k, v) = row?;
            let (t, n) = k.value();
            let name = format!("{t}/{n}");
            r.note(decode::<ActivityRecord>(v.value(), "activities", &name).map(drop));
        }
        Ok(())
    });
    walk("state_machines", &|txn, r| {
        for row in txn.open_table(schema::STATE_MACHINES)?.iter()? {
            let (k, v) = row?;
            let (t, n, ver) = k.value();
            let name = format!("{t}/{n}:{ver}");
            r.note(decode::<StateMachineVersion>(v.value(), "state_machines", &name).map(drop));
        }
        Ok(())
    });
    walk("executions", &|txn, r| {
        for row in txn.open_table(schema::EXECUTIONS)?.iter()? {
            let (k, v) = row?;
            let arn = k.value();
            let rec = decode::<ExecutionRecord>(v.value(), "executions", arn);
            r.note(rec.and_then(|rec| {
                if rec.arn == arn {
                    Ok(())
                } else {
                    Err(corrupt(
                        "executions",
                        arn,
                        format!("holds the record of {}", rec.arn),
                    ))
                }
            }));
        }
        Ok(())
    });
    walk("executions_by_tenant", &|txn, r| {
        let execs = txn.open_table(schema::EXECUTIONS)?;
        for row in txn.open_table(schema::EXECUTIONS_BY_TENANT)?.iter()? {
            let (k, arn) = row?;
            let (tenant, seq) = k.value();
            let found = execs.get(arn.value())?.is_some();
            r.note(found.then_some(()).ok_or_else(|| {
                let detail = format!("names {}, which has no record", arn.value());
                corrupt("executions_by_tenant", &format!("{tenant}#{seq}"), detail)
            }));
        }
        Ok(())
    });
    walk("frames", &|txn, r| {
        for row in txn.open_table(schema::FRAMES)?.iter()? {
            let (k, v) = row?;
            let (arn, id) = k.value();
            r.note(seal::open(v.value(), "frames", || format!("{arn}#{id}")).map(drop));
        }
        Ok(())
    });
    walk("history_runs", &|txn, r| {
        // Runs are named after their execution (through the index that points at them).
        let mut owner: HashMap<u64, String> = HashMap::new();
        for row in txn.open_table(schema::HISTORY_INDEX)?.iter()? {
            let (k, number) = row?;
            owner.insert(number.value(), k.value().0.to_string());
        }
        let runs = txn.open_table(schema::HISTORY_RUNS)?;
        for (number, arn) in &owner {
            if runs.get(*number)?.is_none() {
                let detail = format!("run {number} is missing");
                r.note(Err(corrupt("history_index", arn, detail)));
            }
        }
        for row in runs.iter()? {
            let (k, v) = row?;
            let number = k.value();
            let arn = owner.get(&number).map_or("(no execution)", String::as_str);
            r.note(tail::run_events(v.value(), arn, number).and_then(|events| {
                events.iter().try_for_each(|(_, bytes)| {
                    decode_json::<HistoryEvent>(bytes, "history_runs", arn).map(drop)
                })
            }));
        }
        Ok(())
    });
    walk("history_tail", &|txn, r| {
        for row in txn.open_table(schema::HISTORY_TAIL)?.iter()? {
            let (k, v) = row?;
            let mut bad = None;
            let visited = tail::visit(v.value(), k.value(), |arn, item| {
                if let tail::Item::Event(_, bytes) = item
                    && bad.is_none()
                {
                    bad = decode_json::<HistoryEvent>(bytes, "history_tail", arn).err();
                }
            });
            r.note(visited.and_then(|()| bad.map_or(Ok(()), Err)));
        }
        Ok(())
    });
    walk("artifacts", &|txn, r| {
        for row in txn.open_table(schema::ARTIFACTS)?.iter()? {
            let (k, v) = row?;
            let (sha, fp) = k.value();
            r.note(seal::open(v.value(), "artifacts", || format!("{sha}/{fp}")).map(drop));
        }
        Ok(())
    });
    walk("blobs", &|txn, r| {
        for row in txn.open_table(schema::BLOBS)?.iter()? {
            let (k, v) = row?;
            let sha = k.value();
            let ok = hex::encode(sha2::Sha256::digest(v.value())) == sha;
            r.note(
                ok.then_some(()).ok_or_else(|| {
                    corrupt("blobs", sha, "content does not match its sha256".into())
                }),
            );
        }
        Ok(())
    });
    walk("quarantine", &|txn, r| {
        for row in txn.open_table(schema::QUARANTINE)?.iter()? {
            let (k, _) = row?;
            let (table, key) = k.value();
            let detail = "failed its checksum; kept in the quarantine table".to_string();
            r.note(Err(corrupt(
                "quarantine",
                &format!("{table} row {key}"),
                detail,
            )));
        }
        Ok(())
    });
    Ok(report)
}

fn corrupt(table: &'static str, record: &str, detail: String) -> StoreError {
    StoreError::Corrupt {
        table,
        record: record.to_string(),
        detail,
    }
}

impl CheckReport {
    fn note(&mut self, read: Result<()>) {
        self.records += 1;
        if let Err(e) = read {
            self.damaged.push(e);
        }
    }
}
