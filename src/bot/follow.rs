//! Following a started backup or verify in place: one message edited with
//! its progress until its real outcome is written (never "done" for a run
//! only started), and never two backup followers at once.

use super::loaded::{Loaded, load};
use super::progress::Progress;
use super::req::Req;
use super::text::{duration, fill};
use super::view;
use crate::chatops::settle;
use crate::files::backup::SnapshotIndex;
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
    let Loaded::Ok(p) = load::<BackupProgress>(&state_dir.join(crate::paths::BACKUP_PROGRESS))
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

/// What one look at a followed run found.
enum Look {
    /// It ended: this is its outcome.
    Done(String),
    /// Still running: this is its progress.
    Show(String),
    /// Nothing new to show.
    Wait,
}

/// How often a followed run is looked at, and for how long at most (a big
/// first backup on a slow HDD takes a while).
const EVERY: Duration = Duration::from_secs(2);
const AT_MOST: Duration = Duration::from_secs(6 * 3600);

/// Follows a run in one message: `first`, then what each look shows, then
/// its outcome (or `give_up` after [`AT_MOST`]). `on_end` runs however the
/// task ends: done, panicked or aborted.
fn follow<F, Fut>(
    req: &Req,
    first: String,
    give_up: String,
    mut look: F,
    on_end: impl FnOnce() + Send + 'static,
) where
    F: FnMut(Duration) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Look> + Send,
{
    let req = req.clone();
    tokio::spawn(async move {
        let _end = OnDrop::new(on_end);
        let mut progress = Progress::start(&req, &first).await;
        let started = tokio::time::Instant::now();
        let mut outcome = give_up;
        while started.elapsed() < AT_MOST {
            tokio::time::sleep(EVERY).await;
            match look(started.elapsed()).await {
                Look::Done(html) => {
                    outcome = html;
                    break;
                }
                Look::Show(html) => progress.show(&html).await,
                Look::Wait => {}
            }
        }
        progress.finish(&outcome).await;
    });
}

/// Shows a progress message for `/backup_now`, edited in place from
/// `backup-progress.json`, then the result from `last_backup.json`.
pub(super) fn follow_backup(req: &Req, started: chrono::DateTime<chrono::Utc>) {
    if req.shared.backup_follow.swap(true, Ordering::SeqCst) {
        return;
    }
    let t = req.texts();
    let state_dir = req.shared.config().state_dir;
    let flag_owner = req.shared.clone();
    let look = move |_| {
        let state_dir = state_dir.clone();
        async move {
            if let Loaded::Ok(b) = load::<BackupOutcome>(&state_dir.join(crate::paths::LAST_BACKUP))
                && crate::files::parse_rfc3339(&b.finished_at).is_some_and(|f| f >= started)
            {
                return Look::Done(view::outcome_line(t, &b));
            }
            match load::<BackupProgress>(&state_dir.join(crate::paths::BACKUP_PROGRESS)) {
                Loaded::Ok(p) => Look::Show(view::progress(t, &p)),
                _ => Look::Wait,
            }
        }
    };
    follow(
        req,
        t.backup_started.to_string(),
        t.backup_no_result.to_string(),
        look,
        move || flag_owner.backup_follow.store(false, Ordering::SeqCst),
    );
}

/// Follows a started verify of the latest snapshot to its real outcome: the
/// verify `backups.json` records after `started`, or, once the verify unit
/// has stopped without one, that it ended without a result.
pub(super) fn follow_verify(req: &Req, started: chrono::DateTime<chrono::Utc>) {
    /// The unit gets this long to start before its state counts.
    const GRACE: Duration = Duration::from_secs(10);
    let t = req.texts();
    let state_dir = req.shared.config().state_dir;
    let look = move |elapsed: Duration| {
        let state_dir = state_dir.clone();
        async move {
            let index = load::<SnapshotIndex>(&state_dir.join(crate::paths::BACKUP_INDEX));
            if let Loaded::Ok(i) = index
                && let Some(v) = i.last_verify
                && crate::files::parse_rfc3339(&v.at).is_some_and(|at| at >= started)
            {
                return Look::Done(view::verify_outcome(t, &v));
            }
            let secs = elapsed.as_secs();
            if elapsed >= GRACE && secs % 10 < EVERY.as_secs() {
                let state = tokio::task::spawn_blocking(|| {
                    settle::job_state(&crate::chatops::Exec::new(), crate::paths::VERIFY_UNIT)
                })
                .await
                .ok()
                .flatten();
                if let Some(s) =
                    state.filter(|s| !matches!(s.active.as_str(), "active" | "activating"))
                {
                    let html = fill(
                        t.verify_no_result,
                        &[("state", (t.errors.unit_state)(&s.active))],
                    );
                    return Look::Done(html);
                }
            }
            Look::Show(fill(t.verify_running, &[("elapsed", &duration(secs))]))
        }
    };
    let give_up = fill(t.verify_no_result, &[("state", "?")]);
    follow(req, t.verify_started.to_string(), give_up, look, || {});
}

/// Runs a closure when dropped: clean-up that a panic or a cancelled task
/// cannot skip.
pub(super) struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    pub(super) fn new(f: F) -> OnDrop<F> {
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
