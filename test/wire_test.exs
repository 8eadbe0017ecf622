defmodule Callconv.WireTest do
  # The report's shape across the boundary with Rust. The Rust half is
  # native/callconv_core/tests/wire_shape.rs: it writes test/fixtures/wire/report.json from
  # the serde definition (every field populated) and reads test/fixtures/wire/request.json,
  # which this test writes from %Callconv.Target{}. A field added on one side only fails one
  # of the two.
  use ExUnit.Case, async: true

  alias Callconv.{JSON, Wire}

  @wire Path.expand("fixtures/wire", __DIR__)
  @crypto Path.join(:code.lib_dir(:crypto), "priv/lib/crypto.so")

  defp report_json, do: File.read!(Path.join(@wire, "report.json"))

  # Where a decoded value is nil or an empty list or map: a field the decoder did not fill.
  defp unset(value, at) when value == nil or value == [] or value == %{}, do: [at]

  defp unset(%_{} = struct, at), do: struct |> Map.from_struct() |> unset(at)

  defp unset(map, at) when is_map(map),
    do: Enum.flat_map(map, fn {k, v} -> unset(v, "#{at}.#{k}") end)

  defp unset(list, at) when is_list(list),
    do: list |> Enum.with_index() |> Enum.flat_map(fn {v, i} -> unset(v, "#{at}[#{i}]") end)

  defp unset(_, _), do: []

  # Every {:struct, module, fields} of the decoder's schema.
  defp structs({:struct, module, fields}),
    do: [{module, fields} | Enum.flat_map(fields, fn {_, _, t} -> structs(t) end)]

  defp structs({:map, fields}), do: Enum.flat_map(fields, fn {_, _, t} -> structs(t) end)
  defp structs({wrap, type}) when wrap in [:list, :nullable, :string_map], do: structs(type)
  defp structs({:optional, type, _}), do: structs(type)
  defp structs(_), do: []

  test "the full report decodes strictly: every key known, every field of every struct set" do
    report = Wire.report(report_json(), :strict)

    assert unset(report, "report") == []
    # Enum values became atoms through the tables, not strings.
    assert {report.verdict, report.kind, report.format, report.mode} ==
             {:warn, :nif, :"macho-fat", :exports}

    assert hd(report.findings).severity == :warning
    assert hd(report.macho.slices).arch == :aarch64
    # Keys of the convention map stay strings.
    assert report.exports.matched == %{"x86_64-sysv" => 1}
  end

  test "the decoder knows every field of every struct it builds, and no other" do
    for {module, fields} <- structs(Wire.report_schema()) do
      struct_keys = module.__struct__() |> Map.keys() |> List.delete(:__struct__)

      assert Enum.sort(for {key, _, _} <- fields, do: key) == Enum.sort(struct_keys),
             inspect(module)
    end
  end

  test "a key added on the Rust side only is refused in strict mode, skipped otherwise" do
    json = JSON.decode!(report_json())
    added = json |> put_in(["pe", "new_fact"], true) |> JSON.encode() |> IO.iodata_to_binary()

    assert_raise ArgumentError, ~r/unknown keys \["new_fact"\]/, fn ->
      Wire.report(added, :strict)
    end

    assert Wire.report(added).pe == Wire.report(report_json()).pe
  end

  test "a key the decoder expects but Rust does not send is refused in strict mode" do
    removed = report_json() |> JSON.decode!() |> Map.delete("libc") |> JSON.encode()

    assert_raise ArgumentError, ~r/"libc" is absent/, fn ->
      Wire.report(IO.iodata_to_binary(removed), :strict)
    end
  end

  test "an enum value the tables do not know stays a string, never a new atom" do
    json = report_json() |> JSON.decode!() |> Map.put("arch", "z80-not-an-atom")
    report = Wire.report(IO.iodata_to_binary(JSON.encode(json)))

    assert report.arch == "z80-not-an-atom"
    assert_raise ArgumentError, fn -> String.to_existing_atom("z80-not-an-atom") end
  end

  test "real reports, from the NIF and from the isolated process, decode strictly" do
    {:ok, target} = Callconv.target()
    request = Wire.request(target, exports: false)

    {:ok, json} = Callconv.Native.check(@crypto, request, nil, nil)
    report = Wire.report(json, :strict)
    assert report.nif.module == "crypto"

    exports_request = Wire.request(target, exports: true)
    {:ok, json} = Callconv.Native.check(@crypto, exports_request, nil, nil)
    assert Wire.report(json, :strict).mode == :exports

    assert {:ok, ^report} = Callconv.Isolated.check(@crypto, request, nil, nil)
  end

  test "the request sets every field of the target, as the Rust half reads it" do
    target = %Callconv.Target{
      source: :"running-vm",
      otp_release: "25",
      erts_version: "13.1.5",
      nif_version: "2.16",
      arch: :x86_64,
      os: "linux",
      bits: 64,
      endian: :little,
      libc: "gnu",
      libc_version: "2.36",
      abi_variant: "eabi5-hard-float",
      os_version: "13.0",
      cpu: "x86-64-v2",
      enif_exports: ["enif_alloc", "enif_free"],
      vm_exports: "erts_alloc\n\"quoted\"\tname",
      vm_bind_now: true
    }

    assert unset(target, "target") == []

    json =
      Wire.request(target,
        module: "Elixir.Full",
        functions: [{"add", 2}],
        declared_nifs: [{"add", 2}],
        probe_unsandboxed: true,
        exports: true
      )

    assert JSON.decode!(json)["target"]["vm_exports"] == target.vm_exports
    path = Path.join(@wire, "request.json")
    if System.get_env("CALLCONV_BLESS"), do: File.write!(path, json <> "\n")

    assert JSON.decode!(File.read!(path)) == JSON.decode!(json),
           "#{path} is not what Callconv.Wire writes: a target field changed on the Elixir " <>
             "side. Rewrite it with CALLCONV_BLESS=1 mix test test/wire_test.exs, then run " <>
             "cargo test -p callconv_core --test wire_shape in native/"
  end

  test "the running VM's target, encoded once and kept, is encoded again when it changes" do
    {:ok, target} = Callconv.target()
    assert target.source == :"running-vm"
    other = %{target | vm_bind_now: target.vm_bind_now != true, os_version: "99.0"}

    for t <- [target, other, target, other] do
      sent = JSON.decode!(Wire.request(t, []))["target"]
      assert {sent["vm_bind_now"], sent["os_version"]} == {t.vm_bind_now, t.os_version}
    end
  end

  describe "Callconv.JSON" do
    test "round-trips what crosses the boundary" do
      value = %{
        "s" => "a\"b\\c\n\u00e9\u{1F600}",
        "i" => -12_345_678_901_234_567_890,
        "f" => 1.5,
        "l" => [true, false, nil, [], %{}],
        "u" => 18_446_744_073_709_551_615
      }

      assert value |> JSON.encode() |> IO.iodata_to_binary() |> JSON.decode!() == value
    end

    test "reads escapes, exponents and whitespace as JSON defines them" do
      assert JSON.decode!(~S( {"a" : [ 1e2 , -0.5E-1, "\u00e9\ud83d\ude00\/" ] } )) ==
               %{"a" => [100.0, -0.05, "é😀/"]}
    end

    test "refuses what is not JSON, with a reason" do
      for bad <- ["", "{", "[1,]", ~s({"a" 1}), ~s("abc), "nul", "1 2", ~s("\\x")] do
        assert {:error, why} = JSON.decode(bad), inspect(bad)
        assert is_binary(why)
      end
    end
  end
end
