//! The examples and exit codes at the end of each command's `--help`. The exit codes are those
//! of docs/contract.md; `every_command_has_an_example` keeps each command's help honest.

pub(crate) const CHECK: &str = "\
Examples:
  regsync check inbox/registrar-2026-04-02.csv
  regsync check samples/registrar-2026-04-02.csv samples/hr-2026-04-02.csv

Exit codes:
  0  every file can be read and mapped (warnings may be printed)
  1  failure (a file or folder could not be read)
  2  usage or configuration error
  3  a file has an error: each is located as FILE:ROW:COLUMN(header), in Japanese and English";

pub(crate) const ACCOUNTS: &str = "\
Examples:
  regsync accounts import directory.csv
  regsync accounts export --format json --out accounts.json
  regsync accounts export | head";

pub(crate) const IMPORT: &str = "\
Example:
  regsync accounts import directory.csv

Exit codes: 0 imported, 1 failure, 2 usage or configuration error, 3 the file has an error
(nothing imported).";

pub(crate) const EXPORT: &str = "\
Examples:
  regsync accounts export --out accounts.csv
  regsync accounts export --format json | jq length";

pub(crate) const INIT: &str = "\
Example:
  regsync init --empty";

pub(crate) const PLAN: &str = "\
Examples:
  regsync plan --as-of 2026-04-02                 # the inbox, reports into plan/
  regsync plan --out /tmp/p --lang en inbox/registrar-2026-04-02.csv

Exit codes: 0 planned, 1 failure, 2 usage or configuration error, 3 an input file was
rejected (the others were planned).";

pub(crate) const RUN: &str = "\
Examples:
  regsync run                                     # tonight, from cron or the systemd timer
  regsync run --as-of 2026-04-02 --lang en
  regsync run --allow depart=18                   # after reading the report the guard stopped

Exit codes:
  0  done
  1  failure (I/O, the store changed during the run, outputs not published after a commit)
  2  usage or configuration error, or no store set up (accounts import, init --empty)
  3  an input file was rejected and set aside in rejected/; the other files were used
  4  refused: the mass-change guard tripped (nothing applied), or another run holds the lock
  5  done, but some notices are still pending, or one was refused for good in this run
  4 takes precedence over 3, and 3 over 5.";

pub(crate) const APPLY: &str = "\
Example:
  regsync apply reports/2026-04-02-run7/plan.json

Exit codes:
  0  applied
  1  failure (I/O; applied, but letters/ and actions.jsonl not published: the message says where
     they are)
  2  usage or configuration error, or no store set up
  4  refused: the plan is stale (the store changed since it was made), or the output folder
     already holds letters/ or actions.jsonl";

pub(crate) const SHOW: &str = "\
Examples:
  regsync show a0001234
  regsync show 09268011

Exit codes: 0 found, 1 nothing found, 2 usage or configuration error.";

pub(crate) const REVIEW: &str = "\
Examples:
  regsync review list
  regsync review resolve 12 --note \"same person, checked with the registrar\" --same-as a0001234";

pub(crate) const REVIEW_LIST: &str = "\
Example:
  regsync review list";

pub(crate) const REVIEW_RESOLVE: &str = "\
Examples:
  regsync review resolve 12 --note \"checked with the registrar\"
  regsync review resolve 13 --note \"not the same person\" --different-person";

pub(crate) const MAIL: &str = "\
Examples:
  regsync mail
  regsync mail --retry

Exit codes: 0 nothing left to send, 1 failure, 2 usage or configuration error, 5 some notices
are still pending, or one was refused for good.";

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use crate::cli::Cli;

    /// Every command and subcommand, with its path (`accounts import`).
    fn commands(c: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for sub in c.get_subcommands() {
            let name = format!("{path}{}", sub.get_name());
            let help = sub
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            out.push((name.clone(), help));
            commands(sub, &format!("{name} "), out);
        }
    }

    #[test]
    fn every_command_has_an_example_and_run_apply_check_their_exit_codes() {
        let mut all = Vec::new();
        commands(&Cli::command(), "", &mut all);
        assert!(all.len() >= 13, "{all:?}");
        for (name, help) in &all {
            assert!(help.starts_with("Example"), "{name}: {help}");
            assert!(help.contains(&format!("regsync {name}")), "{name}: {help}");
        }
        for name in ["run", "apply", "check"] {
            let help = &all.iter().find(|(n, _)| n == name).unwrap_or(&all[0]).1;
            assert!(help.contains("Exit codes:\n  0  "), "{name}");
        }
        let run = &all.iter().find(|(n, _)| n == "run").unwrap_or(&all[0]).1;
        for code in 0..=5 {
            assert!(run.contains(&format!("\n  {code}  ")), "{code}");
        }
        let main = Cli::command()
            .get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(main.contains("REGSYNC_LOG"));
    }
}
