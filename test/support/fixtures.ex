defmodule Callconv.Fixtures do
  @moduledoc false
  # Paths of the test fixtures built by test/fixtures/build.sh.

  @root Path.expand("../fixtures", __DIR__)

  def host(name), do: Path.join([@root, "build", "host", name])

  def root?, do: System.cmd("id", ["-u"]) |> elem(0) |> String.trim() == "0"

  # Root reads anything: check `path` from a VM that runs as nobody; returns its error reason.
  def unprivileged_check_reason(path) do
    ebin = :code.lib_dir(:callconv, :ebin) |> List.to_string()
    elixir_ebin = :code.lib_dir(:elixir, :ebin) |> List.to_string()

    expr =
      ~s|{error, E} = 'Elixir.Callconv':check(<<"#{path}">>), | <>
        ~s|io:format("~s", [maps:get(reason, E)]), halt().|

    {out, 0} =
      System.cmd("setpriv", [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "erl",
        "-noshell",
        "-pa",
        ebin,
        "-pa",
        elixir_ebin,
        "-eval",
        expr
      ])

    out
  end

  def otp_nif(app_prefix, file) do
    [dir] = Path.wildcard(Path.join(:code.root_dir(), "lib/#{app_prefix}*/priv/lib"))
    Path.join(dir, file)
  end
end

defmodule Callconv.Fixtures.Hello do
  @moduledoc false
  # The Erlang side of test/fixtures/src/hello_nif.c: loading it for real is the ground truth
  # the static decoder is compared with.

  def load(path_without_ext), do: :erlang.load_nif(String.to_charlist(path_without_ext), 0)

  def hello, do: :erlang.nif_error(:not_loaded)
  def add(_a, _b), do: :erlang.nif_error(:not_loaded)
  def read(_x), do: :erlang.nif_error(:not_loaded)
end
