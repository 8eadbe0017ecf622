defmodule Mix.Tasks.Compile.CallconvNative do
  @moduledoc false
  # Builds the Rust NIF crate with cargo and copies the one artifact into priv/native/ under
  # the app path. It lives here, in mix.exs, because no hex package can provide it and lib/
  # is not compiled yet when compilers run.
  #
  # One cargo target directory, native/target beside this file (inside the dependency's own
  # directory when callconv is a dependency), serves every MIX_ENV: the Rust build does not
  # depend on it. cargo runs only when the fingerprint of what it builds from (the crates'
  # sources and manifests, Cargo.lock, the toolchain's version, the profile and whether the
  # command-line tool is wanted) differs from the one recorded when it last installed them.
  use Mix.Task.Compiler

  @crate "callconv_nif"
  @native Path.expand("native", __DIR__)
  @min_rust {1, 85}

  @impl true
  def run(_args) do
    cargo = System.find_executable("cargo")
    profile = System.get_env("CALLCONV_PROFILE", "release")
    target_dir = Path.join(@native, "target")
    dest_dir = Path.join(Mix.Project.app_path(), "priv/native")
    cli? = cli?()
    sources = sources_fingerprint(profile, cli?)
    # Beside priv/, not in it: a release copies priv/ and has no use for the stamp.
    stamp = Path.join(Mix.Project.app_path(), "callconv_native.fingerprint")
    installed = if installed?(dest_dir, cli?), do: File.read(stamp), else: :error

    cond do
      # Built from these very sources; without cargo on the PATH there is no toolchain to
      # compare, and nothing to rebuild either.
      cargo == nil and match?({:ok, <<^sources::binary-size(32), _::binary>>}, installed) ->
        {:noop, []}

      cargo == nil ->
        Mix.raise(no_cargo_message())

      installed == {:ok, sources <> toolchain_fingerprint(cargo)} ->
        {:noop, []}

      true ->
        build_and_install!(cargo, profile, target_dir, dest_dir, cli?, stamp, sources)
    end
  end

  defp build_and_install!(cargo, profile, target_dir, dest_dir, cli?, stamp, sources) do
    fingerprint = sources <> toolchain_fingerprint(cargo)
    built = build!(cargo, profile, target_dir, cli?)
    File.mkdir_p!(dest_dir)
    install!(Path.join(built, artifact_name()), Path.join(dest_dir, installed_name()))

    if cli? do
      install!(Path.join(built, exe_name()), Path.join(dest_dir, exe_name()))
    else
      File.rm(Path.join(dest_dir, exe_name()))
    end

    File.write!(stamp, fingerprint)
    {:ok, []}
  end

  # The command-line tool runs only for `isolation: :process` and `probe: true` (and
  # `mix callconv.check --isolate/--probe`). It is built and shipped in every environment but
  # :prod unless `config :callconv, cli: true | false` says otherwise, so that a release does
  # not carry a second copy of the core it never runs.
  defp cli? do
    Application.get_env(:callconv, :cli, Mix.env() != :prod)
  end

  defp build!(cargo, profile, target_dir, cli?) do
    built = Path.join(target_dir, profile_dir(profile))

    unless File.exists?(Path.join(built, artifact_name())) do
      # A first build takes minutes (capstone's C code, then the core); say so once.
      IO.puts(
        :stderr,
        "callconv: building its Rust core with cargo in #{Path.relative_to_cwd(target_dir)} " <>
          "(first build: a few minutes; later builds reuse it in every MIX_ENV)"
      )
    end

    # The NIF, and the command-line tool: the opt-in probe runs nif_init in it, never in the VM.
    packages = ["--package", @crate] ++ if(cli?, do: ["--package", "callconv_core"], else: [])

    args =
      ["build"] ++
        packages ++
        ["--manifest-path", Path.join(@native, "Cargo.toml")] ++
        ["--target-dir", target_dir, "--locked"] ++ profile_args(profile)

    # cargo's own progress goes to stderr, so `--format json` output on stdout stays clean.
    case System.cmd(cargo, args, into: IO.stream(:standard_error, :line), stderr_to_stdout: true) do
      {_, 0} ->
        built

      {_, status} ->
        Mix.raise(
          "cargo build of native/#{@crate} failed (exit status #{status}); " <>
            "read the compiler output above, fix the Rust error, and run mix compile again"
        )
    end
  end

  defp installed?(dest_dir, cli?) do
    File.exists?(Path.join(dest_dir, installed_name())) and
      (not cli? or File.exists?(Path.join(dest_dir, exe_name())))
  end

  # What the build depends on, in two parts: the sources (hashing a few MB costs
  # milliseconds) and the toolchain (one rustc process). Much less than a no-op cargo run.
  defp sources_fingerprint(profile, cli?) do
    inputs =
      ["Cargo.toml", "Cargo.lock", "*/Cargo.toml", "*/build.rs", "*/src/**/*"]
      |> Enum.flat_map(&Path.wildcard(Path.join(@native, &1)))
      |> Enum.filter(&File.regular?/1)
      |> Enum.sort()

    sources = Enum.map(inputs, &{Path.relative_to(&1, @native), File.read!(&1)})
    digest({sources, profile, cli?, :os.type()})
  end

  defp toolchain_fingerprint(cargo) do
    toolchain = toolchain_version(cargo)
    check_toolchain!(toolchain)
    digest(toolchain)
  end

  defp digest(term) do
    term |> :erlang.term_to_binary() |> :erlang.md5() |> Base.encode16(case: :lower)
  end

  defp toolchain_version(cargo) do
    rustc = Path.join(Path.dirname(cargo), "rustc")
    rustc = if File.exists?(rustc), do: rustc, else: System.find_executable("rustc") || cargo

    case System.cmd(rustc, ["--version"], stderr_to_stdout: true) do
      {out, 0} -> String.trim(out)
      _ -> "unknown"
    end
  end

  # Debian's and Ubuntu's own cargo packages are older than the crates need: say so before
  # cargo fails on an edition or rust-version error.
  defp check_toolchain!(version) do
    with [_, major, minor] <- Regex.run(~r/^rustc (\d+)\.(\d+)/, version),
         found = {String.to_integer(major), String.to_integer(minor)},
         true <- found < @min_rust do
      Mix.raise(
        "callconv needs Rust #{elem(@min_rust, 0)}.#{elem(@min_rust, 1)} or newer, and " <>
          "found #{version}. " <> install_hint()
      )
    end

    :ok
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
    File.rm(Path.join(Mix.Project.app_path(), "callconv_native.fingerprint"))
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
    "callconv needs Rust's cargo to build its native core, and cargo is not on the PATH. " <>
      install_hint()
  end

  defp install_hint do
    """
    Install Rust #{elem(@min_rust, 0)}.#{elem(@min_rust, 1)} or newer with rustup \
    (https://rustup.rs: curl --proto '=https' -sSf https://sh.rustup.rs | sh), open a new \
    shell (or add ~/.cargo/bin to the PATH) and run mix compile again. Distribution \
    packages are often older (Debian 12's cargo is Rust 1.63) and cannot build callconv.
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
