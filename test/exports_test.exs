defmodule Callconv.ExportsTest do
  # analyse: :exports checks every exported function of any C library, here the system's
  # zlib: the same report through the NIF and through the isolated CLI, no NIF finding, and
  # the conventions each function fits.
  use ExUnit.Case, async: true

  @zlib Enum.find(
          ["/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"],
          &File.exists?/1
        )

  @tag timeout: 120_000
  test "every export of a plain C library, the same both ways" do
    if @zlib == nil, do: flunk("no system zlib; script/setup installs it")

    {:ok, report} = Callconv.check(@zlib, analyse: :exports)
    assert report.mode == :exports
    assert report.kind == :library
    assert report.nif == nil
    refute Enum.any?(report.findings, &(&1.rule == "not-a-nif"))

    assert %{conventions: ["x86_64-sysv", "x86_64-win64"], analysed: analysed, errors: 0} =
             report.exports

    assert analysed > 50
    deflate = Enum.find(report.functions, &(&1.name == "deflate"))
    assert "x86_64-sysv" in deflate.matches
    assert Enum.all?(report.functions, &is_list(&1.matches))

    assert {:ok, report} == Callconv.check(@zlib, analyse: :exports, isolation: :process)
  end

  test "the default stays the NIF mode" do
    {:ok, report} = Callconv.check(@zlib)
    assert report.mode == :nif
    assert report.exports == nil
    assert Enum.any?(report.findings, &(&1.rule == "not-a-nif"))
  end

  test "a bad mode is refused" do
    assert_raise ArgumentError, ~r/:analyse must be/, fn ->
      Callconv.check(@zlib, analyse: :everything)
    end
  end
end
