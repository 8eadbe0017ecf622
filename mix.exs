defmodule Mix.Tasks.Compile.CallconvNative do
  @moduledoc false
  # Builds the Rust NIF crate with cargo and copies the one artifact into priv/native/ under
  # the app path. It lives here, in mix.exs, because no hex package can provide it and lib/
  # is not compiled yet when compilers run.
  use Mix.Task.Compiler

  @crate "callconv_nif"

  @impl true
  def run(_args) do
    cargo = System.find_executable("cargo") || Mix.raise(no_cargo_message())
    native = Path.expand("native", __DIR__)
    profile = System.get_env("CALLCONV_PROFILE", "release")
    target_dir = Path.join(Mix.Project.build_path(), "native")

    # The NIF, and the command-line tool: the opt-in probe runs nif_init in it, never in the VM.
    args =
      ["build", "--package", @crate, "--package", "callconv_core"] ++
        ["--manifest-path", Path.join(native, "Cargo.toml")] ++
        ["--target-dir", target_dir, "--locked"] ++ profile_args(profile)

    # cargo's own progress goes to stderr, so `--format json` output on stdout stays clean.

    case System.cmd(cargo, args, into: IO.stream(:standard_error, :line), stderr_to_stdout: true) do
      {_, 0} ->
        :ok

      {_, status} ->
        Mix.raise(
          "cargo build of native/#{@crate} failed (exit status #{status}); " <>
            "read the compiler output above, fix the Rust error, and run mix compile again"
        )
    end

    built = Path.join(target_dir, profile_dir(profile))
    dest_dir = Path.join(Mix.Project.app_path(), "priv/native")
    File.mkdir_p!(dest_dir)
    install!(Path.join(built, artifact_name()), Path.join(dest_dir, installed_name()))
    install!(Path.join(built, exe_name()), Path.join(dest_dir, exe_name()))
    {:ok, []}
  end

  defp install!(source, dest) do
    unless File.exists?(source) do
      Mix.raise("cargo reported success but #{source} does not exist")
    end

    # Remove before copying: overwriting a library a running VM has mapped can crash it.
    File.rm(dest)
    File.cp!(source, dest)
  end

  defp exe_name do
    case :os.type() do
      {:win32, _} -> "callconv.exe"
      _ -> "callconv"
    end
  end

  @impl true
  def clean do
    File.rm_rf(Path.join(Mix.Project.app_path(), "priv/native"))
    :ok
  end

  defp profile_args("release"), do: ["--release"]
  defp profile_args("debug"), do: []
  defp profile_args(other), do: ["--profile", other]

  defp profile_dir("debug"), do: "debug"
  defp profile_dir(other), do: other

  defp artifact_name do
    case :os.type() do
      {:win32, _} -> "#{@crate}.dll"
      {:unix, :darwin} -> "lib#{@crate}.dylib"
      _ -> "lib#{@crate}.so"
    end
  end

  # :erlang.load_nif/2 appends .so on every Unix (macOS included) and .dll on Windows.
  defp installed_name do
    case :os.type() do
      {:win32, _} -> "lib#{@crate}.dll"
      _ -> "lib#{@crate}.so"
    end
  end

  defp no_cargo_message do
    """
    callconv needs Rust's cargo to build its native core, and cargo is not on the PATH.
    Install Rust (https://rustup.rs, or `apt-get install cargo` on Debian/Ubuntu) and run
    mix compile again.
    """
  end
end

defmodule Callconv.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [
      app: :callconv,
      version: @version,
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      compilers: [:callconv_native] ++ Mix.compilers(),
      deps: [],
      description:
        "Checks BEAM NIF libraries before load_nif: format, architecture, NIF entry and rules.",
      package: package(),
      elixirc_paths: elixirc_paths(Mix.env())
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]

  defp package do
    [
      licenses: ["Apache-2.0"],
      links: %{"Hex" => "https://hex.pm/packages/callconv"},
      # Everything the Rust build needs (the workspace, the lockfile for --locked, both
      # crates' manifests, sources and build script), and nothing it writes (no target/).
      files: ~w(lib mix.exs README.md .formatter.exs
                native/Cargo.toml native/Cargo.lock
                native/callconv_core/Cargo.toml native/callconv_core/build.rs
                native/callconv_core/src
                native/callconv_nif/Cargo.toml native/callconv_nif/src)
    ]
  end
end
