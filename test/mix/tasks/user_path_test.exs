defmodule Mix.Tasks.Callconv.UserPathTest do
  # The path a new user walks: a fresh Mix app that depends on callconv by `path:` and ships a
  # NIF in its own priv/. Every command runs in a child `mix`, as the user types it; the ones
  # whose output depends on a terminal run inside a real pseudo-terminal (util-linux's
  # `script`), and the test reads back what the screen received.
  use ExUnit.Case, async: false

  alias Callconv.Fixtures

  @moduletag :tmp_dir
  @moduletag timeout: 600_000
  @repo Path.expand("../../..", __DIR__)

  setup_all do
    app = Path.join(System.tmp_dir!(), "callconv_user_path_#{System.unique_integer([:positive])}")
    File.rm_rf!(app)
    File.mkdir_p!(Path.join(app, "lib"))
    File.mkdir_p!(Path.join(app, "priv/native"))

    File.write!(Path.join(app, "mix.exs"), """
    defmodule MyApp.MixProject do
      use Mix.Project

      def project do
        [app: :my_app, version: "0.1.0", deps: [{:callconv, path: #{inspect(@repo)}}]]
      end
    end
    """)

    File.write!(Path.join(app, "lib/my_app.ex"), "defmodule MyApp do\nend\n")
    File.cp!(Fixtures.host("hello_nif.so"), Path.join(app, "priv/native/libhello.so"))
    File.cp!(Fixtures.host("driver.so"), Path.join(app, "priv/native/libdriver.so"))

    # The first compile builds callconv as a dependency; its cargo target is the repository's
    # own native/target, which this test run has already built.
    {out, status} = mix(app, ["compile"])
    assert status == 0, out
    on_exit(fn -> File.rm_rf!(app) end)
    %{app: app}
  end

  defp mix(app, args) do
    System.cmd("mix", args, cd: app, env: [{"MIX_ENV", "dev"}], stderr_to_stdout: true)
  end

  # Runs a shell command in a pseudo-terminal and returns everything the terminal received.
  defp in_terminal(app, command) do
    System.cmd("script", ["-qfec", command, "/dev/null"],
      cd: app,
      env: [{"MIX_ENV", "dev"}, {"TERM", "xterm"}],
      stderr_to_stdout: true
    )
  end

  test "mix callconv.check in a terminal: coloured verdicts, no crash", %{app: app} do
    {screen, status} = in_terminal(app, "mix callconv.check --no-deps")
    refute screen =~ "ArgumentError"
    assert status == 0, screen
    assert screen =~ "libhello.so  \e[32mPASS\e[0m"
    assert screen =~ "libdriver.so  \e[32mPASS\e[0m"
    assert screen =~ "checked against OTP #{System.otp_release()} ("
    assert screen =~ "2 checked, 2 passed, 0 warned, 0 failed"

    # The same command in a pipe: no colour, no progress, nothing but the report.
    {piped, 0} = in_terminal(app, "mix callconv.check --no-deps | cat")
    refute piped =~ "\e["
    assert piped =~ "libhello.so  PASS"
  end

  test "a long scan shows one progress line on the terminal, overwritten, never in a pipe",
       %{app: app} do
    for i <- 1..6, do: File.cp!(Fixtures.host("hello_nif.so"), Path.join(app, "priv/n#{i}.so"))

    try do
      {screen, 0} = in_terminal(app, "mix callconv.check --no-deps")
      assert screen =~ "\r\e[2Kcallconv: checking 1/8 "
      assert screen =~ "\r\e[2Kcallconv: checking 8/8 "
      # The last progress line is cleared before the report is printed.
      assert screen =~ ~r"checking 8/8 [^\r]*\r\e\[2K"

      {json, 0} = in_terminal(app, "mix callconv.check --no-deps --format json")
      refute json =~ "callconv: checking"

      {piped, 0} = in_terminal(app, "mix callconv.check --no-deps 2>&1 | cat")
      refute piped =~ "callconv: checking"
    after
      for i <- 1..6, do: File.rm!(Path.join(app, "priv/n#{i}.so"))
    end
  end

  test "SARIF and annotations point at the file in the repository, not its _build copy",
       %{app: app} do
    {sarif, 0} = mix(app, ["callconv.check", "--no-deps", "--format", "sarif"])
    assert sarif =~ ~s("uri": "priv/native/libhello.so")
    assert sarif =~ ~s("uriBaseId": "SRCROOT")
    refute sarif =~ "_build"

    {github, 0} = mix(app, ["callconv.check", "--no-deps", "--format", "github"])
    assert github =~ "::notice file=priv/native/libdriver.so,title=callconv not-a-nif::"
    refute github =~ "_build"
  end

  test "help: --help and mix help show the options from the one table", %{app: app} do
    {help, 0} = mix(app, ["callconv.check", "--help"])
    {mix_help, 0} = mix(app, ["help", "callconv.check"])

    for out <- [help, mix_help], option <- ~w(--format --ignore --strict --no-deps --isolate) do
      assert out =~ option
    end

    {out, 2} = mix(app, ["callconv.check", "--bogus"])
    assert out =~ "--bogus"
  end

  test "--ignore says how many findings it hid", %{app: app} do
    {out, 0} = mix(app, ["callconv.check", "--no-deps", "--ignore", "not-a-nif"])
    assert out =~ "1 finding hidden by --ignore"
    refute out =~ "[not-a-nif]"
  end

  test "an unchanged build does not run cargo, and says nothing", %{app: app} do
    {out, 0} = mix(app, ["compile"])
    refute out =~ "cargo"
    refute out =~ "Finished"
    refute out =~ "Compiling"

    # Another MIX_ENV reuses the same cargo build: no cold-build notice, no Rust compiled.
    {out, 0} =
      System.cmd("mix", ["compile"], cd: app, env: [{"MIX_ENV", "test"}], stderr_to_stdout: true)

    refute out =~ "first build"
    refute out =~ "Compiling callconv_core"
  end

  describe "the command-line tool" do
    test "--help, --version, and a usage error with status 2" do
      exe = Callconv.Native.executable()
      {help, 0} = System.cmd(exe, ["check", "--help"])

      for option <- ~w(--format --strict --ignore --output --nif-version --otp --target --probe) do
        assert help =~ option
      end

      assert {"callconv " <> _, 0} = System.cmd(exe, ["--version"])
      {err, 2} = System.cmd(exe, ["check", "--bogus", "x.so"], stderr_to_stdout: true)
      assert err =~ "--bogus"
    end

    test "in a terminal: progress on a long scan, gone before the report", %{app: app} do
      exe = Callconv.Native.executable()
      for i <- 1..6, do: File.cp!(Fixtures.host("hello_nif.so"), Path.join(app, "priv/c#{i}.so"))

      try do
        {screen, 0} = in_terminal(app, "#{exe} check priv")
        assert screen =~ "\r\e[2Kcallconv: checking 1/8 "
        assert screen =~ ~r"checking 8/8 [^\r]*\r\e\[2K"
        assert screen =~ "8 checked, 8 passed, 0 warned, 0 failed"

        {piped, 0} = in_terminal(app, "#{exe} check priv | cat")
        refute piped =~ "callconv: checking"
      after
        for i <- 1..6, do: File.rm!(Path.join(app, "priv/c#{i}.so"))
      end
    end

    test "sarif and github name the source of a _build copy, --strict and --ignore decide",
         %{app: app} do
      exe = Callconv.Native.executable()
      built = "_build/dev/lib/my_app/priv/native/libdriver.so"
      assert File.exists?(Path.join(app, built))

      {sarif, 0} = System.cmd(exe, ["check", "--format", "sarif", built], cd: app)
      assert sarif =~ ~s("uri": "priv/native/libdriver.so")
      refute sarif =~ "_build"

      {github, 0} = System.cmd(exe, ["check", "--format", "github", built], cd: app)
      assert github =~ "::notice file=priv/native/libdriver.so,title=callconv not-a-nif::"

      {text, 0} = System.cmd(exe, ["check", "--ignore", "not-a-nif", built], cd: app)
      assert text =~ "1 finding hidden by --ignore"
      refute text =~ "[not-a-nif]"

      warned = Fixtures.host("exec_stack.so")
      {text, 0} = System.cmd(exe, ["check", warned])
      assert text =~ "WARN"
      {_, 1} = System.cmd(exe, ["check", "--strict", warned])
    end
  end
end
