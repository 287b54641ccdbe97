//! Activities: named queues of work for outside workers (AWS's CreateActivity and
//! friends). A record per (tenant, name); the tasks themselves live in the frames of the
//! executions that scheduled them, so nothing here changes when a task moves.

use redb::ReadableTable;

use super::records::ActivityRecord;
use super::schema::ACTIVITIES;
use super::writer::wait;
use super::{Result, Store, decode, encode, now_ms};

impl Store {
    /// Creates an activity, or returns the existing one of that name (AWS's CreateActivity
    /// is idempotent); the flag says whether it was created.
    pub async fn put_activity(&self, tenant: &str, name: &str) -> Result<(ActivityRecord, bool)> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            let t = &mut tb.activities;
            if let Some(v) = t.get((tenant.as_str(), name.as_str()))? {
                let rec = decode(v.value(), "activities", &format!("{tenant}/{name}"))?;
                return Ok((rec, false));
            }
            let rec = ActivityRecord {
                name: name.clone(),
                created_ms: now_ms(),
            };
            t.insert((tenant.as_str(), name.as_str()), encode(&rec).as_slice())?;
            Ok((rec, true))
        }))
        .await
    }

    /// One activity.
    pub fn activity(&self, tenant: &str, name: &str) -> Result<Option<ActivityRecord>> {
        let txn = self.slot.begin_read()?;
        let t = match txn.open_table(ACTIVITIES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        t.get((tenant, name))?
            .map(|v| decode(v.value(), "activities", &format!("{tenant}/{name}")))
            .transpose()
    }

    /// A tenant's activities by name, after `after`, at most `limit`.
    pub fn list_activities(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>> {
        let txn = self.slot.begin_read()?;
        let t = match txn.open_table(ACTIVITIES) {
            Ok(t) => t,
            // Not created yet (a store from before activities, never written since).
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for row in t.range((tenant, after.unwrap_or(""))..)? {
            let (k, v) = row?;
            let (row_tenant, name) = k.value();
            if row_tenant != tenant || out.len() >= limit {
                break;
            }
            if after == Some(name) {
                continue;
            }
            out.push(decode(
                v.value(),
                "activities",
                &format!("{tenant}/{name}"),
            )?);
        }
        Ok(out)
    }

    /// Deletes an activity; deleting one that does not exist succeeds (as in AWS).
    pub async fn delete_activity(&self, tenant: &str, name: &str) -> Result<()> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            tb.activities.remove((tenant.as_str(), name.as_str()))?;
            Ok(())
        }))
        .await
    }
}
