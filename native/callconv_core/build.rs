// The command-line tool doubles as the probe child: it must export its stub enif_* symbols
// so that a NIF it dlopens binds to them.
fn main() {
    println!("cargo:rustc-link-arg-bin=callconv=-rdynamic");
}
