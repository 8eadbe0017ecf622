defmodule CallconvTest do
  use ExUnit.Case, async: true

  doctest Callconv
  doctest Callconv.Report
  doctest Callconv.Target
  doctest Callconv.Options
  doctest Callconv.Config

  alias Callconv.{Fixtures, Finding, Nif, Report}

  @moduletag :tmp_dir

  describe "real NIFs" do
    test "crypto.so: module crypto, NIF 2.16, and the table the BEAM's :crypto module has" do
      {:ok, report} = Callconv.check(Fixtures.otp_nif("crypto-", "crypto.so"))

      assert %Report{verdict: :pass, kind: :nif, format: :elf, arch: :x86_64, bits: 64} = report
      assert %Nif{module: "crypto", major: 2, minor: 16, vm_variant: "beam.vanilla"} = report.nif
      assert report.nif.min_erts == "erts-12.0"

      # Every NIF must exist in the module the VM loaded; crypto declares no duplicates.
      {:module, :crypto} = Code.ensure_loaded(:crypto)
      module_functions = MapSet.new(:crypto.module_info(:functions))
      decoded = Enum.map(report.nif.functions, &{String.to_atom(&1.name), &1.arity})

      assert length(decoded) == 64
      assert MapSet.size(MapSet.new(decoded)) == 64
      assert Enum.reject(decoded, &MapSet.member?(module_functions, &1)) == []
      assert {:info_lib, 0} in decoded
    end

    test "asn1rt_nif.so decodes exactly" do
      report = Callconv.check!(Fixtures.otp_nif("asn1-", "asn1rt_nif.so"))

      assert Enum.map(report.nif.functions, &{&1.name, &1.arity, &1.flags}) == [
               {"encode_per_complete", 1, 0},
               {"decode_ber_tlv_raw", 1, 0},
               {"encode_ber_tlv", 1, 0}
             ]

      assert report.needed == ["libc.so.6"]
      assert report.abi == "x86_64-sysv"
    end

    test "the hello fixture: what callconv decodes is what the BEAM loads" do
      path = Fixtures.host("hello_nif.so")
      report = Callconv.check!(path)
      assert report.verdict == :pass
      assert report.nif.module == "Elixir.Callconv.Fixtures.Hello"

      assert Enum.map(report.nif.functions, &{&1.name, &1.arity, &1.flags}) ==
               [{"hello", 0, 0}, {"add", 2, 1}, {"read", 1, 2}]

      assert report.nif.load and report.nif.upgrade and report.nif.unload
      refute report.nif.reload

      # The real loader agrees: it accepts the library and the functions work.
      assert Fixtures.Hello.load(Path.rootname(path)) == :ok

      assert Fixtures.Hello.hello() == :world
      assert Fixtures.Hello.add(2, 3) == 5
    end

    test "libc, version floors, GNU properties and the VM's own exports reach Elixir, both ways" do
      cxx = Path.expand("fixtures/cross/x86_64-linux-gnu/cxx_nif.so", __DIR__)
      musl = Path.expand("fixtures/cross/x86_64-linux-musl/libc_user.so", __DIR__)

      for opts <- [[], [isolation: :process]] do
        {:ok, report} = Callconv.check(cxx, opts)
        assert report.libc == "gnu"
        assert {:ok, %Callconv.Report{libc: "musl"}} = Callconv.check(musl, opts)

        assert report.floors == %{glibc: "2.14", glibcxx: "3.4.21", cxxabi: "1.3.9", gcc: "3.0"}
        assert report.gnu_properties == nil
      end

      # The running VM's beam.smp exports MD5Init, as this NIF does.
      target = Callconv.Target.current()
      assert "MD5Init" in String.split(target.vm_exports, "\n")
      assert is_boolean(target.vm_bind_now)
      {:ok, report} = Callconv.check(Fixtures.host("interposable.so"))

      assert [%Finding{rule: "interposable-export", severity: :warning, message: message}] =
               report.findings

      assert message =~ "MD5Init, SSL_new, deflate, inflateEnd, sqlite3_open (1 of them"

      if :erlang.system_info(:system_architecture) |> to_string() =~ "x86_64" do
        {:ok, report} = Callconv.check(Fixtures.host("isa_v4.so"))

        assert report.gnu_properties == %{
                 x86_isa_needed: "x86-64-v4",
                 x86_features: ["ibt", "shstk"],
                 aarch64_features: []
               }
      end
    end
  end

  describe "verdicts against another runtime" do
    test "a library too new for the target fails with the rule that says so" do
      {:ok, report} = Callconv.check(Fixtures.host("custom_too_new.so"))
      assert report.verdict == :fail
      assert [%Finding{rule: "nif-version-too-new", severity: :error} = f] = report.findings
      assert f.message =~ "NIF 2.99"
      assert f.hint =~ "rebuild"
    end

    test "the same library passes on a runtime that is new enough" do
      path = Fixtures.host("hello_nif.so")
      assert {:ok, %Report{verdict: :fail}} = Callconv.check(path, nif_version: "2.14")
      assert {:ok, %Report{verdict: :pass}} = Callconv.check(path, nif_version: "2.17")
    end

    test "a NULL min_erts on a too-new entry is an error: OTP 25 would crash" do
      {:ok, report} = Callconv.check(Fixtures.host("custom_null_min_erts.so"))
      assert "nif-min-erts-null" in Enum.map(report.findings, & &1.rule)
    end

    test "drivers and plain libraries are not NIFs" do
      assert {:ok, %Report{kind: :driver, verdict: :pass, nif: nil}} =
               Callconv.check(Fixtures.host("driver.so"))

      assert {:ok, %Report{kind: :library, findings: [%Finding{rule: "not-a-nif"}]}} =
               Callconv.check(Fixtures.host("plain_lib.so"))
    end

    test "unknown options are refused" do
      assert_raise ArgumentError, fn -> Callconv.check("x.so", nif: "2.16") end
    end
  end

  describe "the opt-in probe" do
    test "nothing from the library runs without it; with it, nif_init runs outside the VM",
         %{tmp_dir: dir} do
      # The constructor writes <library>.marker when it may: use a private copy.
      path = Path.join(dir, "constructor_marker.so")
      File.cp!(Fixtures.host("constructor_marker.so"), path)
      marker = path <> ".marker"

      assert {:ok, %Report{kind: :nif, verdict: :pass}} = Callconv.check(path)
      refute File.exists?(marker)

      # Sandboxed, nif_init runs (its entry agrees with the file) but the write is refused.
      for isolation <- [:vm, :process] do
        assert {:ok, %Report{verdict: :pass, findings: []}} =
                 Callconv.check(path, probe: true, isolation: isolation)

        refute File.exists?(marker)
      end

      # Unsandboxed, the constructor runs with this user's rights, and the report says so.
      for isolation <- [:vm, :process] do
        assert {:ok, %Report{verdict: :warn, findings: [finding]}} =
                 Callconv.check(path, probe: :unsandboxed, isolation: isolation)

        assert finding.rule == "nif-probe-unsandboxed"
        assert File.read!(marker) == "constructor ran\n"
        File.rm!(marker)
      end

      assert_raise ArgumentError, fn -> Callconv.check(path, probe: :yes) end
    end

    test "the probe agrees with the static decode of a real NIF" do
      path = Fixtures.otp_nif("crypto-", "crypto.so")
      {:ok, static} = Callconv.check(path)
      {:ok, probed} = Callconv.check(path, probe: true)
      assert probed.findings == static.findings
      assert probed.nif == static.nif
    end
  end

  describe "bad input never hurts the VM" do
    test "a missing path", do: assert_reason("/nonexistent/libx.so", :"not-found")

    test("a directory", %{tmp_dir: dir}, do: assert_reason(dir, :"not-regular"))

    test "an empty file", %{tmp_dir: dir} do
      path = Path.join(dir, "empty.so")
      File.write!(path, "")
      assert_reason(path, :empty)
    end

    test "a text file", %{tmp_dir: dir} do
      path = Path.join(dir, "text.so")
      File.write!(path, "hello\n")
      assert_reason(path, :"unknown-format")
    end

    test "a truncated .so (the real load_nif dies with SIGBUS on it)" do
      assert_reason(Fixtures.host("truncated.so"), :malformed)
    end

    test "a FIFO does not block", %{tmp_dir: dir} do
      path = Path.join(dir, "fifo.so")
      {_, 0} = System.cmd("mkfifo", [path])
      # Opening a FIFO for reading would block until a writer comes; a hang here fails the
      # test through ExUnit's timeout rather than a clock of our own.
      assert {:error, %Callconv.Error{reason: :"not-regular"}} = Callconv.check(path)
    end

    test "/dev/zero", do: assert_reason("/dev/zero", :"not-regular")

    test "a file without read permission", %{tmp_dir: dir} do
      path = Path.join(dir, "noperm.so")
      File.cp!(Fixtures.host("hello_nif.so"), path)
      File.chmod!(dir, 0o755)
      File.chmod!(path, 0o000)

      if Fixtures.root?() do
        # Root reads anything: run the same check in a VM that runs as nobody.
        assert Fixtures.unprivileged_check_reason(path) =~ "permission-denied"
      else
        assert_reason(path, :"permission-denied")
      end
    end

    test "check! raises the same error struct" do
      error = assert_raise Callconv.Error, fn -> Callconv.check!("/nonexistent/libx.so") end
      assert error.reason == :"not-found"
      assert error.path == "/nonexistent/libx.so"
    end
  end

  defp assert_reason(path, reason) do
    assert {:error, %Callconv.Error{reason: ^reason, path: ^path, message: message}} =
             Callconv.check(path)

    assert message =~ path
    # And the VM is still here to say so.
    assert Process.alive?(self())
  end
end
