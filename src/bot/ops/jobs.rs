//! Long operations runs (apt, pip, git, speed test) as `chatops::jobs` jobs:
//! the Yes/No question, a message edited in place while they run, the summary,
//! the full output as a document and the restart offer after an update.

use super::*;
use teloxide::types::MessageId;

/// A Yes to an apt, pip or git question: the question's message becomes the
/// progress message. Returns the audit arguments (the job's summary) and result.
pub async fn run_confirmed(req: &Req, msg_id: MessageId, job: OpsJob) -> (String, AuditResult) {
    run_job(req, Progress::on(req, msg_id), job).await
}

/// Starts `job`, edits `msg_id` with its progress and then its summary, sends
/// the full output as a document and offers the follow-up (apt upgrade, a
/// service restart). Returns the outcome's one-line summary and the audit result.
pub(super) async fn run_job(
    ctx: &Req,
    progress: Progress<'_>,
    job: OpsJob,
) -> (String, AuditResult) {
    use updates::{AptOutcome, GitOutcome, PipOutcome};
    let cfg = ctx.shared.config();
    match &job {
        OpsJob::AptUpdate => {
            let out = match drive(ctx, progress, &job, updates::apt_update).await {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            let checked = match out.value.as_ref().map(|d| &d.outcome) {
                Some(AptOutcome::Checked(r)) if out.status == JobStatus::Ok => {
                    Some(r.packages.len())
                }
                _ => None,
            };
            if let Some(n) = checked {
                record_pending(&ctx.shared, n);
            }
            let upgradable = checked.is_some_and(|n| n > 0);
            if out.status == JobStatus::Ok && upgradable {
                let _ = confirm::ask(ctx, Confirmable::Job(OpsJob::AptUpgrade)).await;
            }
            audit_of(&out)
        }
        OpsJob::AptUpgrade => {
            let out = match drive(ctx, progress, &job, updates::apt_upgrade).await {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            if out.status == JobStatus::Ok {
                // Upgraded as far as apt goes; the next /apt_update recounts.
                record_pending(&ctx.shared, 0);
                offer_restart(ctx, &cfg).await;
            }
            audit_of(&out)
        }
        OpsJob::Pip(plan) => {
            let plan = plan.clone();
            let body = move |exec: &Exec| updates::pip_sync(exec, &plan);
            let out = match drive(ctx, progress, &job, body).await {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            let changed = matches!(
                out.value.as_ref().map(|d| &d.outcome),
                Some(PipOutcome::Synced { installed }) if !installed.is_empty()
            );
            if out.status == JobStatus::Ok && changed {
                offer_restart(ctx, &cfg).await;
            }
            audit_of(&out)
        }
        OpsJob::Git(repos) => {
            let repos = repos.clone();
            let body = move |exec: &Exec| updates::git_pull(exec, &repos);
            let out = match drive(ctx, progress, &job, body).await {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            let changed = out.value.as_ref().is_some_and(|d| {
                d.outcome
                    .iter()
                    .any(|p| matches!(p.outcome, GitOutcome::Updated { .. }))
            });
            // Some repositories may have moved even when another failed.
            if changed {
                offer_restart(ctx, &cfg).await;
            }
            audit_of(&out)
        }
        OpsJob::Speed => match drive(ctx, progress, &job, net::speed).await {
            Ok(out) => audit_of(&out),
            Err(refused) => refused,
        },
    }
}

/// Records in `bot-state.json` how many packages wait for `apt upgrade`,
/// measured now, for the daily digest. A failed write is logged: the count
/// still holds in memory until a restart.
pub(super) fn record_pending(shared: &Shared, count: usize) {
    let p = PendingUpdates {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        checked_at: i64::try_from(super::confirm::now_s()).unwrap_or(i64::MAX),
    };
    if let Err(e) = shared.update_state(|st| st.pending_updates = Some(p)) {
        log::error!("pending updates (kept in memory only): {e:#}");
    }
}

/// Starts one job and follows it to the end; `Err` is the refusal to start.
pub(super) async fn drive<T, F>(
    ctx: &Req,
    mut progress: Progress<'_>,
    job: &OpsJob,
    body: F,
) -> Result<JobOutcome<T>, (String, AuditResult)>
where
    T: JobResult + JobSaid + Send + 'static,
    F: FnOnce(&Exec) -> anyhow::Result<T> + Send + 'static,
{
    let kind = job.kind();
    let what = job.what(ctx.lang());
    let started = ctx
        .shared
        .ops
        .jobs
        .start(kind, &Exec::new(), kind.timeout(), body);
    match started {
        Ok(j) => {
            // Held until the run ends: the load it causes is not news (docs/alerts.md).
            let _lease = crate::bot::notice::ops_lease(job)
                .and_then(|l| crate::bot::notice::take_lease(&ctx.shared, l, kind.timeout()));
            let outcome = follow(ctx, &mut progress, &what, j).await;
            finish(ctx, progress, job, &what, &outcome).await;
            Ok(outcome)
        }
        Err(e) => Err(refuse_start(ctx, progress, &what, e).await),
    }
}

pub(super) fn audit_of<T>(outcome: &JobOutcome<T>) -> (String, AuditResult) {
    let summary = outcome.summary();
    let result = match outcome.status {
        JobStatus::Ok => AuditResult::Ok,
        _ => AuditResult::Failed(summary.clone()),
    };
    log::info!("{summary}");
    (summary, result)
}

pub(super) async fn refuse_start(
    ctx: &Req,
    progress: Progress<'_>,
    what: &str,
    e: StartError,
) -> (String, AuditResult) {
    let o = o(ctx);
    let html = match &e {
        StartError::Busy(_) => fill(o.job_busy, &[("what", what)]),
        StartError::ShuttingDown => o.shutting_down.to_string(),
    };
    progress.finish(&html).await;
    (e.to_string(), AuditResult::Failed(e.to_string()))
}

/// Edits the progress message as the job's progress changes, until it ends.
pub(super) async fn follow<T: JobResult + Send + 'static>(
    ctx: &Req,
    progress: &mut Progress<'_>,
    what: &str,
    job: crate::chatops::jobs::Job<T>,
) -> JobOutcome<T> {
    let o = o(ctx);
    let mut rx = job.progress.clone();
    progress
        .show(&progress_html(o, what, Duration::ZERO, ""))
        .await;
    let fin = job.finish();
    tokio::pin!(fin);
    loop {
        tokio::select! {
            out = &mut fin => return out,
            changed = rx.changed() => {
                if changed.is_err() {
                    return fin.await;
                }
                let p = rx.borrow_and_update().clone();
                if p.done {
                    continue;
                }
                progress.show(&progress_html(o, what, p.elapsed, &p.last_line)).await;
            }
        }
    }
}

/// Puts the summary into the progress message and sends the full output.
pub(super) async fn finish<T: JobSaid>(
    ctx: &Req,
    progress: Progress<'_>,
    job: &OpsJob,
    what: &str,
    outcome: &JobOutcome<T>,
) {
    let (o, w) = (o(ctx), w(ctx));
    let status = status_line(o, w, what, outcome);
    let room = MESSAGE_MAX.saturating_sub(tg_len(&status) + 1);
    let body = outcome
        .value
        .as_ref()
        .map(|v| v.body(w, room))
        .unwrap_or_default();
    let html = if body.is_empty() {
        status
    } else {
        format!("{status}\n{body}")
    };
    progress.finish(&html).await;
    if !outcome.output.trim().is_empty() {
        let mut caption = fill(o.output_doc, &[("what", what)]);
        if outcome.output_truncated {
            caption.push_str(o.output_truncated);
        }
        ctx.document(
            job.file_name(),
            outcome.output.clone().into_bytes(),
            &caption,
        )
        .await;
    }
}

/// Offers a restart of each watched service through the `/svc restart` question.
pub(super) async fn offer_restart(ctx: &Req, cfg: &Config) {
    let buttons: Vec<(String, String)> = cfg
        .services
        .iter()
        .filter(|u| **u != cfg.self_service)
        .filter_map(|u| {
            let data = Callback::AskRestart(u.clone()).data()?;
            Some((format!("🔁 {}", u.trim_end_matches(".service")), data))
        })
        .take(MAX_RESTART_BUTTONS)
        .collect();
    if buttons.is_empty() {
        return;
    }
    let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
    let _ = ctx.send(o(ctx).restart_offer, Some(markup)).await;
}
