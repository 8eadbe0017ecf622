defmodule Callconv.Fixtures do
  @moduledoc false
  # Paths of the test fixtures built by test/fixtures/build.sh.

  @root Path.expand("../fixtures", __DIR__)

  def host(name), do: Path.join([@root, "build", "host", name])

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
