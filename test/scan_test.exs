defmodule Callconv.ScanTest do
  # Which module loads which library, learnt from a project's compiled code.
  use ExUnit.Case, async: true

  alias Callconv.Scan

  @moduletag :tmp_dir

  @source """
  defmodule Scan.Rustlerish do
    # What `use Rustler, otp_app: :my_app, crate: :x` writes.
    @on_load :rustler_init
    @load_from {:my_app, "priv/native/librustlerish"}
    def rustler_init do
      :code.purge(__MODULE__)
      {otp_app, path} = @load_from
      load_path = otp_app |> Application.app_dir(path) |> to_charlist()
      :erlang.load_nif(load_path, 0)
    end
  end

  defmodule Scan.PrivDir do
    @on_load :load
    def load do
      path = :filename.join(:code.priv_dir(:my_app), ~c"native/libpriv_dir")
      case :erlang.load_nif(path, 0) do
        :ok -> :ok
        error -> error
      end
    end
  end

  defmodule Scan.Absolute do
    @on_load :load
    def load, do: :erlang.load_nif("/opt/nifs/libabsolute", 0)
  end

  defmodule Scan.Computed do
    # A path only known at run time: nothing is learnt.
    @on_load :load
    def load, do: :erlang.load_nif(System.get_env("NIF_PATH", "x"), 0)
  end

  defmodule Scan.NotOnLoad do
    def load, do: :erlang.load_nif("/opt/nifs/libnot_on_load", 0)
  end
  """

  test "loaders: @on_load load_nif paths, the guard's attribute and callconv: [nifs: ...]",
       %{tmp_dir: dir} do
    ebin = Path.join(dir, "lib/my_app/ebin")
    File.mkdir_p!(ebin)
    source = Path.join(dir, "scan.ex")
    File.write!(source, @source)
    # elixirc, not Code.compile_string: the @on_load functions fail when loaded, and only the
    # .beam files (with their debug info) matter here.
    {out, 0} = System.cmd("elixirc", ["-o", ebin, source], stderr_to_stdout: true)
    assert File.exists?(Path.join(ebin, "Elixir.Scan.Computed.beam")), out

    # A guarded module's .beam, as use Callconv.Guard writes it.
    File.cp!(
      :code.which(Callconv.Fixtures.Custom),
      Path.join(ebin, "Elixir.Callconv.Fixtures.Custom.beam")
    )

    app_dir = Path.join(dir, "lib/my_app")

    {loaders, guarded} =
      Scan.loaders([dir], nifs: [{MyApp.Configured, "priv/native/libconfigured"}], app: :my_app)

    assert loaders[Path.join(app_dir, "priv/native/librustlerish.so")] == "Elixir.Scan.Rustlerish"
    assert loaders[Path.join(app_dir, "priv/native/libpriv_dir.so")] == "Elixir.Scan.PrivDir"
    assert loaders["/opt/nifs/libabsolute.so"] == "Elixir.Scan.Absolute"

    assert loaders[Path.join(app_dir, "priv/native/libconfigured.so")] ==
             "Elixir.MyApp.Configured"

    assert loaders[Callconv.Fixtures.host("custom_ok.so")] ==
             "Elixir.Callconv.Fixtures.Custom"

    refute Enum.any?(
             Map.values(loaders),
             &(&1 in ["Elixir.Scan.Computed", "Elixir.Scan.NotOnLoad"])
           )

    assert map_size(loaders) == 5
    assert guarded == ["Elixir.Callconv.Fixtures.Custom"]
  end

  test "check: a library is checked against the module that loads it, not the one it names",
       %{tmp_dir: dir} do
    lib = Path.join(dir, "libhello.so")
    File.cp!(Callconv.Fixtures.host("hello_nif.so"), lib)

    [{^lib, {:ok, report}}] = Scan.check([lib], [], %{}, loaders: %{lib => "Elixir.MyApp.Native"})
    assert "nif-module-mismatch" in Enum.map(report.findings, & &1.rule)

    [{^lib, {:ok, report}}] = Scan.check([lib], [], %{})
    refute "nif-module-mismatch" in Enum.map(report.findings, & &1.rule)
  end
end
