//! `potion-helper`: the privileged entry point, run by the bot through `sudo -n`.
//! Parses the request and hands it to `potion_runner::helper`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use potion_runner::helper::{self, Caller, Outcome, Request, SvcAction};

/// The one privileged door of potion-runner: service control, the backup
/// timer, backup/verify runs, apt, restores into the staging folder and
/// power off on battery, each validated before it is done.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Read preferences from this .env file (refused under sudo).
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// Read system settings from this file instead of
    /// /etc/potion-runner/system.env (refused under sudo; as root it must be
    /// root's alone, like the installed one).
    #[arg(long, value_name = "FILE")]
    system_env: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start, stop or restart a .service unit the allowlist permits.
    Svc { action: Action, unit: String },
    /// Set or show the daily backup time.
    Timer {
        #[command(subcommand)]
        command: TimerCommand,
    },
    /// Start a backup run now (does not wait for it).
    Backup { action: StartOnly },
    /// Start a backup verification now (does not wait for it).
    Verify { action: StartOnly },
    /// Refresh package lists or upgrade packages.
    Apt { action: AptAction },
    /// Restore a file or folder from snapshot ID into BACKUP_DIR/restored/ID
    /// (never over live files); prints where, how many files and bytes.
    Restore {
        /// Snapshot id, YYYYMMDDTHHMMSSZ.
        id: String,
        /// Path as backed up, e.g. /opt/potion-runner/.env.
        path: String,
    },
    /// Power the machine off: only with POWER_ACTIONS=1 in system.env and
    /// while it runs on its battery (does not wait for it).
    Power { action: PowerAction },
    /// Installer only (root, never under sudo): create or fix .env through
    /// one handle and move system keys into system.env; or print what
    /// activation needs from .env.
    #[command(hide = true)]
    Setup {
        #[command(subcommand)]
        command: SetupCommand,
    },
}

#[derive(Subcommand)]
enum SetupCommand {
    /// Create .env from TEMPLATE if missing, fix its owner and mode, move
    /// system keys into /etc/potion-runner/system.env (new from SYSTEM_TEMPLATE).
    Env {
        template: PathBuf,
        system_template: PathBuf,
    },
    /// Print `backup-time: HH:MM` (when set) and `token: set|unset`.
    Status,
}

#[derive(Subcommand)]
enum TimerCommand {
    /// Move the daily backup to HH:MM.
    Set {
        timer: TimerName,
        #[arg(value_name = "HH:MM")]
        time: String,
    },
    /// Print the backup time and the next run.
    Show { timer: TimerName },
}

#[derive(Clone, Copy, ValueEnum)]
enum Action {
    Start,
    Stop,
    Restart,
}

#[derive(Clone, Copy, ValueEnum)]
enum TimerName {
    Backup,
}

#[derive(Clone, Copy, ValueEnum)]
enum StartOnly {
    Start,
}

#[derive(Clone, Copy, ValueEnum)]
enum PowerAction {
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
enum AptAction {
    Update,
    Upgrade,
}

/// Runs `setup`; refused under sudo (the bot's user may run the helper so).
fn setup(caller: &Caller, cmd: SetupCommand) -> ExitCode {
    use potion_runner::helper::setup::{self, SetupPaths};
    if caller.is_delegated() || caller.euid != 0 {
        eprintln!("reason: {}", helper::ReasonCode::FlagUnderSudo.as_str());
        eprintln!("potion-helper: refused: setup is for the installer, run as root without sudo");
        return ExitCode::from(helper::EXIT_REFUSED);
    }
    let p = SetupPaths::installed();
    let result = match cmd {
        SetupCommand::Env {
            template,
            system_template,
        } => std::fs::read_to_string(&template)
            .and_then(|t| Ok((t, std::fs::read_to_string(&system_template)?)))
            .map_err(anyhow::Error::from)
            .and_then(|(t, s)| setup::prepare_env(&p, &t, &s)),
        SetupCommand::Status => setup::status(&p),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("potion-helper: {e:#}");
            ExitCode::from(helper::EXIT_REFUSED)
        }
    }
}

/// The request to validate, or the installer's `setup` command.
fn request(cmd: Command) -> Result<Request, SetupCommand> {
    Ok(match cmd {
        Command::Svc { action, unit } => Request::Svc {
            action: match action {
                Action::Start => SvcAction::Start,
                Action::Stop => SvcAction::Stop,
                Action::Restart => SvcAction::Restart,
            },
            unit,
        },
        Command::Timer {
            command: TimerCommand::Set { time, .. },
        } => Request::TimerSetBackup { time },
        Command::Timer {
            command: TimerCommand::Show { .. },
        } => Request::TimerShowBackup,
        Command::Backup { .. } => Request::BackupStart,
        Command::Verify { .. } => Request::VerifyStart,
        Command::Apt {
            action: AptAction::Update,
        } => Request::AptUpdate,
        Command::Apt {
            action: AptAction::Upgrade,
        } => Request::AptUpgrade,
        Command::Restore { id, path } => Request::Restore { id, path },
        Command::Power { .. } => Request::PowerOff,
        Command::Setup { command } => return Err(command),
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let caller = Caller::current();
    helper::init_logging(&caller);
    let req = match request(args.command) {
        Ok(req) => req,
        Err(setup_cmd) => return setup(&caller, setup_cmd),
    };
    let what = req.describe();
    let flags = helper::check_env_flag(&caller, args.env.as_deref())
        .and_then(|()| helper::check_env_flag(&caller, args.system_env.as_deref()));
    let outcome = match flags {
        Err(why) => Outcome::Refused(why),
        Ok(()) => match helper::load_config(args.env.as_deref(), args.system_env.as_deref()) {
            Ok(cfg) => {
                let facts = helper::facts(&cfg, &caller, &req);
                helper::handle(&req, &helper::machine_policy(&cfg), &facts)
            }
            Err(why) => {
                let outcome = Outcome::Failed(format!("bad configuration: {why}"));
                helper::log_call(&caller, &what, &outcome);
                eprintln!("potion-helper: {why}");
                return ExitCode::from(helper::EXIT_USAGE);
            }
        },
    };
    helper::log_call(&caller, &what, &outcome);
    match &outcome {
        Outcome::Ok(text) => print!("{text}"),
        Outcome::Refused(why) => {
            // The code first, for the bot to say in the owner's language;
            // the English line last (the bot shows the last line).
            eprintln!("reason: {}", why.code.as_str());
            eprintln!("potion-helper: refused: {why}");
        }
        Outcome::Failed(why) => eprintln!("potion-helper: failed: {why}"),
    }
    ExitCode::from(outcome.exit_code())
}
