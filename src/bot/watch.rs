//! The alert watcher: inotify on `STATE_DIR` (a directory watch, so atomic
//! renames are seen), a periodic rescan as a fallback and for `HEALTH_STALE`
//! and mute expiry. Each look runs the pure diff in `alerts.rs`, hands the
//! changes and the clock to the alert rules (`notice.rs`: quiet hours,
//! leases, flapping, reminders, the restart notice) and persists the new
//! announced set, the rules' state and the queued messages in one atomic write.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use inotify::{Inotify, WatchMask};

use crate::files::health::HealthReport;

use super::Shared;
use super::alerts;
use super::loaded::{Loaded, load};

/// How often the watcher looks even without an inotify event.
pub const RESCAN: Duration = Duration::from_secs(30);

type Events = inotify::EventStream<[u8; 4096]>;

fn open_watch(dir: &std::path::Path) -> Option<Events> {
    let r = Inotify::init().and_then(|i| {
        i.watches()
            .add(dir, WatchMask::MOVED_TO | WatchMask::CLOSE_WRITE)?;
        i.into_event_stream([0u8; 4096])
    });
    match r {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn!(
                "cannot watch {} ({e}); checking every {} s until it can",
                dir.display(),
                RESCAN.as_secs()
            );
            None
        }
    }
}

/// Runs forever (aborted at shutdown).
pub async fn run(shared: Arc<Shared>) {
    let state_dir = shared.config().state_dir;
    let mut events = open_watch(&state_dir);
    let started = chrono::Utc::now();
    let mut last_good = None;
    let mut tick = tokio::time::interval(RESCAN);
    let mut first = true;
    loop {
        let relevant = tokio::select! {
            _ = tick.tick() => {
                // STATE_DIR may appear after the bot started (first install).
                if events.is_none() && state_dir.is_dir() {
                    events = open_watch(&state_dir);
                }
                true
            }
            ev = async {
                match events.as_mut() {
                    Some(s) => s.next().await,
                    None => std::future::pending().await,
                }
            } => match ev {
                Some(Ok(e)) => e.name.is_some_and(|n| n == crate::paths::LAST_HEALTH),
                Some(Err(e)) => {
                    log::warn!("inotify: {e}");
                    false
                }
                None => {
                    events = None;
                    false
                }
            },
        };
        if relevant {
            check(&shared, started, &mut last_good);
            if first {
                // After the first look, which may still announce the boot before.
                super::notice::forget_own_stop(&shared);
                first = false;
            }
        }
    }
}

/// Reads `last_health.json` and queues what fired or cleared. `last_good`
/// keeps the `taken_at` of the last readable report, so an unreadable file
/// still goes stale in time.
pub fn check(
    shared: &Shared,
    started: chrono::DateTime<chrono::Utc>,
    last_good: &mut Option<chrono::DateTime<chrono::Utc>>,
) {
    let cfg = shared.config();
    let loaded: Loaded<HealthReport> = load(&cfg.health_file());
    let health = match &loaded {
        Loaded::Ok(r) => {
            if let Some(t) = crate::files::parse_rfc3339(&r.taken_at) {
                *last_good = Some(t);
            }
            alerts::Health::Report(r)
        }
        Loaded::Missing => alerts::Health::Missing,
        // A torn or foreign file says nothing new, but it is no news either:
        // the other alerts stay as announced and HEALTH_STALE still comes.
        Loaded::Corrupt(e) => {
            log::warn!("{e}; counting health as stale from the last good report");
            alerts::Health::Unreadable {
                last_good: *last_good,
            }
        }
    };
    let t = shared.texts();
    let local = chrono::Local::now();
    let now = local.with_timezone(&chrono::Utc);
    let leases = super::notice::leases(&cfg.state_dir);
    let report = match &loaded {
        Loaded::Ok(r) => Some(r),
        _ => None,
    };
    let r = shared.update_state(|st| {
        let queued = st.next_seq;
        alerts::expire_mutes(&mut st.mutes, now);
        let active = alerts::active(health, &st.announced, cfg.health_stale_s, now, started);
        let mut change = alerts::diff(&st.announced, &active, &st.mutes, now);
        alerts::forget_unwatched(&mut change, &cfg.services);
        super::notice::apply(
            shared,
            t,
            st,
            &cfg.notice,
            &change,
            &active,
            report,
            &leases,
            local,
        );
        st.announced = change.announced;
        st.next_seq != queued
    });
    match r {
        Ok(true) => shared.outbox_wake.notify_one(),
        Ok(false) => {}
        Err(e) => {
            log::error!("alerts (sending anyway, not persisted): {e:#}");
            shared.outbox_wake.notify_one();
        }
    }
}
