//! Following a started backup in place: one message edited with the backup's
//! progress until its outcome is written, never two followers at once.

use super::progress::Progress;
use super::req::Req;
use super::view::{self, load};
use crate::files::backup::{BackupOutcome, BackupProgress};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A backup that finished at or after this instant is the one just started
/// (file times have whole seconds, hence the one-second margin).
/// The start of a backup run still in progress (started by its timer, say),
/// from a fresh `backup-progress.json` that has not reached its end.
pub(super) fn running_backup(state_dir: &std::path::Path) -> Option<chrono::DateTime<chrono::Utc>> {
    /// Progress is written at least this often while a run lives.
    const FRESH_S: i64 = 300;
    let view::Loaded::Ok(p) =
        load::<BackupProgress>(&state_dir.join(crate::paths::BACKUP_PROGRESS))
    else {
        return None;
    };
    let updated = crate::files::parse_rfc3339(&p.updated_at)?;
    let live = (chrono::Utc::now() - updated).num_seconds() < FRESH_S;
    let ongoing = !matches!(p.phase.as_str(), "done" | "failed");
    let started = crate::files::parse_rfc3339(&p.started_at)?;
    (live && ongoing).then(|| started - chrono::Duration::seconds(1))
}

pub(super) fn backup_since() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::seconds(1)
}

/// Shows a progress message for `/backup_now`, edited in place from
/// `backup-progress.json`, then the result from `last_backup.json`.
pub(super) fn follow_backup(req: &Req, started: chrono::DateTime<chrono::Utc>) {
    if req.shared.backup_follow.swap(true, Ordering::SeqCst) {
        return;
    }
    let req = req.clone();
    tokio::spawn(async move {
        // Cleared however the task ends: done, panicked or aborted.
        let flag_owner = req.shared.clone();
        let _following = OnDrop::new(move || {
            flag_owner.backup_follow.store(false, Ordering::SeqCst);
        });
        let t = req.texts();
        let state_dir = req.shared.config().state_dir;
        let mut progress = Progress::start(&req, t.backup_started).await;
        let mut final_text = t.backup_no_result.to_string();
        // Up to six hours: a big first backup on a slow HDD takes a while.
        for _ in 0..(6 * 3600 / 2) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if let view::Loaded::Ok(b) =
                load::<BackupOutcome>(&state_dir.join(crate::paths::LAST_BACKUP))
                && crate::files::parse_rfc3339(&b.finished_at).is_some_and(|f| f >= started)
            {
                final_text = view::outcome_line(t, &b);
                break;
            }
            if let view::Loaded::Ok(p) =
                load::<BackupProgress>(&state_dir.join(crate::paths::BACKUP_PROGRESS))
            {
                progress.show(&view::progress(t, &p)).await;
            }
        }
        progress.finish(&final_text).await;
    });
}

/// Runs a closure when dropped: clean-up that a panic or a cancelled task
/// cannot skip.
pub(super) struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    fn new(f: F) -> OnDrop<F> {
        OnDrop(Some(f))
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    #[test]
    fn a_panic_still_clears_the_flag() {
        let flag = Arc::new(AtomicBool::new(true));
        let f = flag.clone();
        let r = std::panic::catch_unwind(move || {
            let _guard = OnDrop::new(move || f.store(false, Ordering::SeqCst));
            panic!("boom");
        });
        assert!(r.is_err());
        assert!(!flag.load(Ordering::SeqCst));
    }

    #[test]
    fn an_aborted_task_clears_the_flag() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let flag = Arc::new(AtomicBool::new(true));
        let f = flag.clone();
        rt.block_on(async move {
            let task = tokio::spawn(async move {
                let _guard = OnDrop::new(move || f.store(false, Ordering::SeqCst));
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
            tokio::task::yield_now().await;
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
        });
        assert!(!flag.load(Ordering::SeqCst));
    }
}
