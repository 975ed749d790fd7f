//! Long operations runs (apt, pip, git, speed test) as `chatops::jobs` jobs:
//! the Yes/No question, a message edited in place while they run, the summary,
//! the full output as a document and the restart offer after an update.

use super::*;

/// Asks Yes/No about a pip/git run; the answer comes back as an `o:y|n:<id>` press.
pub(super) async fn ask_ops_confirm(ctx: &Ctx<'_>, job: OpsJob) -> Result<(), RequestError> {
    let t = ctx.shared.texts();
    let id = ctx.shared.next_pending.fetch_add(1, Ordering::Relaxed);
    let now = now_s();
    let html = fill(
        t.confirm_question,
        &[
            ("what", &job.what(ctx.lang())),
            ("secs", &command::CONFIRM_TTL_S.to_string()),
        ],
    );
    {
        let mut p = lock(&ctx.shared.ops.pending);
        p.retain(|_, v| v.expires_at >= now);
        p.insert(
            id,
            OpsPending {
                job,
                user_id: ctx.user_id,
                expires_at: now + command::CONFIRM_TTL_S,
            },
        );
    }
    let buttons: Vec<(String, String)> = [
        (t.btn_yes, OpsCallback::Answer { id, yes: true }),
        (t.btn_no, OpsCallback::Answer { id, yes: false }),
    ]
    .into_iter()
    .map(|(l, c)| (l.to_string(), c.data().unwrap_or_default()))
    .collect();
    let markup = ReplyMarkup::InlineKeyboard(inline_row(&buttons));
    send::send(ctx.bot, ctx.chat, &html, Some(markup)).await?;
    Ok(())
}

/// A press on an `o:` button: returns the audit action, arguments and result.
pub async fn on_callback(
    bot: &Bot,
    shared: &Arc<Shared>,
    user: &User,
    chat: ChatId,
    msg_id: MessageId,
    data: &str,
) -> (String, String, AuditResult) {
    let ctx = Ctx {
        bot,
        shared,
        chat,
        user_id: user.id.0,
    };
    let t = shared.texts();
    match OpsCallback::parse(data) {
        None => (
            "button".into(),
            data.into(),
            AuditResult::Failed("unknown button".into()),
        ),
        Some(OpsCallback::Ping(host)) => {
            // Parsed from the data again: a forged host is refused above.
            let r = match PingTarget::parse(&host) {
                Ok(target) => run_ping(&ctx, target).await,
                Err(e) => AuditResult::Failed(e.to_string()),
            };
            ("button ping".into(), host, r)
        }
        Some(OpsCallback::Answer { id, yes }) => {
            let pending = lock(&shared.ops.pending).remove(&id);
            let key = format!("o:{id}");
            if pending.is_none() && shared.was_answered(&key) {
                let _ = ctx.reply(t.confirm_answered).await;
                let result = AuditResult::Failed("already answered".into());
                return ("confirm".into(), data.into(), result);
            }
            let name = pending
                .as_ref()
                .map_or("confirm", |p| p.job.audit_name())
                .to_string();
            let decided = answer(pending.as_ref(), user.id.0, yes, now_s());
            if matches!(decided, OpsAnswer::Run(_) | OpsAnswer::Cancelled) {
                shared.mark_answered(key);
            }
            let (html, result) = match decided {
                OpsAnswer::Expired => (
                    t.confirm_expired,
                    AuditResult::Failed("confirmation expired".into()),
                ),
                OpsAnswer::NotYours => {
                    if let Some(p) = pending {
                        lock(&shared.ops.pending).insert(id, p);
                    }
                    let _ = ctx.reply(t.confirm_not_yours).await;
                    return (name, data.into(), AuditResult::Denied);
                }
                OpsAnswer::Cancelled => (t.cancelled, AuditResult::Failed("cancelled".into())),
                OpsAnswer::Run(job) => {
                    let (summary, result) = run_job_summary(&ctx, msg_id, job).await;
                    return (name, summary, result);
                }
            };
            let _ = send::edit(bot, chat, msg_id, html).await;
            (name, data.into(), result)
        }
    }
}

/// A Yes to an apt question asked through `ask_confirm` (see [`runs_as_job`]).
pub async fn run_confirmed(
    bot: &Bot,
    shared: &Arc<Shared>,
    user: &User,
    chat: ChatId,
    msg_id: MessageId,
    action: &HelperAction,
) -> AuditResult {
    let ctx = Ctx {
        bot,
        shared,
        chat,
        user_id: user.id.0,
    };
    let job = match action {
        HelperAction::AptUpgrade => OpsJob::AptUpgrade,
        _ => OpsJob::AptUpdate,
    };
    run_job(&ctx, msg_id, job).await
}

pub(super) async fn run_job(ctx: &Ctx<'_>, msg_id: MessageId, job: OpsJob) -> AuditResult {
    run_job_summary(ctx, msg_id, job).await.1
}

/// Starts `job`, edits `msg_id` with its progress and then its summary, sends
/// the full output as a document and offers the follow-up (apt upgrade, a
/// service restart). Returns the outcome's one-line summary and the audit result.
pub(super) async fn run_job_summary(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    job: OpsJob,
) -> (String, AuditResult) {
    use updates::{AptOutcome, Done, GitOutcome, PipOutcome};
    let cfg = ctx.shared.config();
    match &job {
        OpsJob::AptUpdate => {
            let out = match drive(
                ctx,
                msg_id,
                &job,
                updates::apt_update,
                |d: &Done<AptOutcome>| updates::render_apt(&d.outcome),
            )
            .await
            {
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
                record_pending(ctx.shared, n);
            }
            let upgradable = checked.is_some_and(|n| n > 0);
            if out.status == JobStatus::Ok && upgradable {
                let _ = crate::bot::ask_confirm(
                    ctx.bot,
                    ctx.chat,
                    ctx.shared,
                    ctx.user_id,
                    HelperAction::AptUpgrade,
                )
                .await;
            }
            audit_of(&out)
        }
        OpsJob::AptUpgrade => {
            let out = match drive(
                ctx,
                msg_id,
                &job,
                updates::apt_upgrade,
                |_: &Done<updates::AptUpgradeOutcome>| String::new(),
            )
            .await
            {
                Ok(o) => o,
                Err(refused) => return refused,
            };
            if out.status == JobStatus::Ok {
                // Upgraded as far as apt goes; the next /apt_update recounts.
                record_pending(ctx.shared, 0);
                offer_restart(ctx, &cfg).await;
            }
            audit_of(&out)
        }
        OpsJob::Pip(plan) => {
            let plan = plan.clone();
            let body = move |exec: &Exec| updates::pip_sync(exec, &plan);
            let out = match drive(ctx, msg_id, &job, body, |d: &Done<PipOutcome>| {
                updates::render_pip(&d.outcome)
            })
            .await
            {
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
            let out = match drive(
                ctx,
                msg_id,
                &job,
                body,
                |d: &Done<Vec<updates::RepoPull>>| updates::render_git(&d.outcome),
            )
            .await
            {
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
        OpsJob::Speed => match drive(ctx, msg_id, &job, net::speed, net::render_speed).await {
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
        checked_at: i64::try_from(now_s()).unwrap_or(i64::MAX),
    };
    if let Err(e) = shared.update_state(|st| st.pending_updates = Some(p)) {
        log::error!("pending updates (kept in memory only): {e:#}");
    }
}

/// Starts one job and follows it to the end; `Err` is the refusal to start.
pub(super) async fn drive<T, F, R>(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    job: &OpsJob,
    body: F,
    render: R,
) -> Result<JobOutcome<T>, (String, AuditResult)>
where
    T: JobResult + Send + 'static,
    F: FnOnce(&Exec) -> anyhow::Result<T> + Send + 'static,
    R: Fn(&T) -> String,
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
            let outcome = follow(ctx, msg_id, &what, j).await;
            let rendered = outcome.value.as_ref().map(&render).unwrap_or_default();
            finish(ctx, msg_id, job, &what, &outcome, &rendered).await;
            Ok(outcome)
        }
        Err(e) => Err(refuse_start(ctx, msg_id, &what, e).await),
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
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    what: &str,
    e: StartError,
) -> (String, AuditResult) {
    let o = ctx.o();
    let html = match &e {
        StartError::Busy(_) => fill(o.job_busy, &[("what", what)]),
        StartError::ShuttingDown => o.shutting_down.to_string(),
    };
    let _ = send::edit(ctx.bot, ctx.chat, msg_id, &html).await;
    (e.to_string(), AuditResult::Failed(e.to_string()))
}

/// Edits the progress message as the job's progress changes, until it ends.
pub(super) async fn follow<T: JobResult + Send + 'static>(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    what: &str,
    job: crate::chatops::jobs::Job<T>,
) -> JobOutcome<T> {
    let o = ctx.o();
    let mut rx = job.progress.clone();
    let _ = send::edit(
        ctx.bot,
        ctx.chat,
        msg_id,
        &progress_html(o, what, Duration::ZERO, ""),
    )
    .await;
    let fin = job.finish();
    tokio::pin!(fin);
    let mut shown = String::new();
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
                let html = progress_html(o, what, p.elapsed, &p.last_line);
                if html != shown {
                    let _ = send::edit(ctx.bot, ctx.chat, msg_id, &html).await;
                    shown = html;
                }
            }
        }
    }
}

/// Puts the summary into the progress message and sends the full output.
pub(super) async fn finish<T>(
    ctx: &Ctx<'_>,
    msg_id: MessageId,
    job: &OpsJob,
    what: &str,
    outcome: &JobOutcome<T>,
    rendered: &str,
) {
    let o = ctx.o();
    let status = status_line(o, what, outcome);
    let (html, _) = fit_html(&status, rendered);
    if send::edit(ctx.bot, ctx.chat, msg_id, &html).await.is_err() {
        let _ = ctx.reply(&html).await;
    }
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
pub(super) async fn offer_restart(ctx: &Ctx<'_>, cfg: &Config) {
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
    let _ = send::send(ctx.bot, ctx.chat, ctx.o().restart_offer, Some(markup)).await;
}
