//! The `xgr` command line: `xgr demo` (default), `xgr bench`. See `xgr help`.
fn main() {
    std::process::exit(xgr::cli::main_with_args(std::env::args().skip(1).collect()));
}
