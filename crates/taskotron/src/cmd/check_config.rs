//! `taskotron check-config FILE`.

use std::path::PathBuf;

use taskotron_config::Config;

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The configuration file to check.
    file: PathBuf,
    /// Also print the effective configuration, defaults filled in.
    #[arg(long)]
    print: bool,
}

/// Exit 0 when the file is valid, 1 when it is not.
pub(crate) fn main(args: Args) -> i32 {
    match Config::load(&args.file) {
        Ok(config) => {
            let mut out = format!("{}: ok\n", args.file.display());
            if args.print {
                match config.to_toml_string() {
                    Ok(text) => out.push_str(&text),
                    Err(err) => {
                        crate::report_error(&anyhow::Error::new(err));
                        return 1;
                    }
                }
            }
            crate::display::stdout(&out);
            0
        }
        Err(err) => {
            crate::report_error(&anyhow::Error::new(err));
            1
        }
    }
}
