//! What only Mach-O has that the checks use: the `LC_RPATH` search paths.

use object::macho::LC_RPATH;
use object::read::macho::{LoadCommandVariant, MachHeader, MachOFile};
use object::ReadRef;

/// Most load commands read.
const MAX_LOAD_COMMANDS: usize = 4096;

/// The `LC_RPATH` entries, as written (`@loader_path` unexpanded), in file order.
pub fn rpaths<'data, Mach, R>(file: &MachOFile<'data, Mach, R>) -> Vec<String>
where
    Mach: MachHeader,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let Ok(mut commands) = file.macho_load_commands() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for _ in 0..MAX_LOAD_COMMANDS {
        let Ok(Some(command)) = commands.next() else {
            break;
        };
        if command.cmd() != LC_RPATH {
            continue;
        }
        if let Ok(LoadCommandVariant::Rpath(rpath)) = command.variant() {
            if let Ok(path) = command.string(endian, rpath.path) {
                out.push(String::from_utf8_lossy(path).into_owned());
            }
        }
    }
    out
}
