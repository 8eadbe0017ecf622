defmodule Callconv.HostileTest do
  # Hostile input through the NIF, in this one VM: every case must come back as a report or
  # a %Callconv.Error{}, the memory must come back down, and the VM must still be here. The
  # work per check is bounded by the core's counted budgets (asserted in
  # native/callconv_core/tests/hostile.rs), not by a clock here: a check that never returns
  # fails this suite through ExUnit's test timeout, however loaded the machine is.
  use ExUnit.Case, async: false

  alias Callconv.Fixtures

  @moduletag :tmp_dir
  # The hang guard above, sized for a heavily loaded machine (ExUnit's default is 60 s).
  @moduletag timeout: 600_000
  # The file-churn test: at least this many cuts and checks overlap, counted.
  @min_cuts 20
  @min_checks 300
  @regressions Path.expand("../native/callconv_core/tests/regressions/check_bytes", __DIR__)

  # Checks `path` and asserts the result has the shape of a report or an error.
  defp shaped_check(path) do
    result = Callconv.check(path)
    assert_shape(result, path)
    result
  end

  defp assert_shape({:ok, %Callconv.Report{} = report}, _path) do
    assert byte_size(report.sha256) == 64
    assert report.verdict in [:pass, :warn, :fail]
  end

  defp assert_shape({:error, %Callconv.Error{} = error}, path) do
    assert is_atom(error.reason)
    # Non-UTF-8 paths: see the dedicated test below.
    if String.valid?(path), do: assert(error.path == path)
    assert is_binary(error.message) and error.message != ""
  end

  defp vm_rss_kb do
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(fn
      "VmRSS:" <> rest ->
        rest |> String.trim() |> String.trim_trailing(" kB") |> String.to_integer()

      _ ->
        nil
    end)
  end

  # Runs `fun` and asserts the VM's memory comes back to within `tolerance_mb` of where it was.
  defp within_memory(tolerance_mb, fun) do
    :erlang.garbage_collect()
    before_total = :erlang.memory(:total)
    before_rss = vm_rss_kb()
    result = fun.()
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    after_total = :erlang.memory(:total)
    after_rss = vm_rss_kb()
    assert after_total - before_total < tolerance_mb * 1024 * 1024
    assert after_rss - before_rss < tolerance_mb * 1024
    result
  end

  defp write!(dir, name, bytes) do
    path = Path.join(dir, name)
    File.write!(path, bytes)
    path
  end

  describe "mutated real binaries" do
    test "truncated at many offsets", %{tmp_dir: dir} do
      within_memory(64, fn ->
        for source <- [Fixtures.host("hello_nif.so"), Fixtures.otp_nif("crypto-", "crypto.so")] do
          full = File.read!(source)
          size = byte_size(full)
          cuts = Enum.to_list(1..96) ++ Enum.to_list(96..(size - 1)//max(div(size, 80), 1))

          for cut <- cuts do
            path = write!(dir, "cut.so", binary_part(full, 0, cut))
            assert {:error, %Callconv.Error{}} = shaped_check(path)
          end
        end
      end)
    end

    test "bit flips in the headers", %{tmp_dir: dir} do
      full = File.read!(Fixtures.host("hello_nif.so"))

      within_memory(64, fn ->
        for byte <- 0..255, bit <- [0, 3, 7] do
          <<head::binary-size(byte), b, rest::binary>> = full

          path =
            write!(
              dir,
              "flip.so",
              <<head::binary, Bitwise.bxor(b, Bitwise.bsl(1, bit)), rest::binary>>
            )

          shaped_check(path)
        end
      end)
    end

    test "nif_init patched into a jmp $ loop, and into a ret with nothing", %{tmp_dir: dir} do
      source = Fixtures.host("hello_nif.so")
      full = File.read!(source)
      offset = nif_init_offset(source)

      for {name, code} <- [{"loop", <<0xEB, 0xFE>>}, {"ret", <<0xC3>>}, {"ud2", <<0x0F, 0x0B>>}] do
        <<head::binary-size(offset), _::binary-size(byte_size(code)), rest::binary>> = full
        path = write!(dir, "#{name}.so", head <> code <> rest)
        assert {:ok, report} = shaped_check(path)
        assert "nif-entry-unreadable" in Enum.map(report.findings, & &1.rule)
      end
    end

    test "the entry pointer past the end of the library", %{tmp_dir: dir} do
      source = Fixtures.host("hello_nif.so")
      full = File.read!(source)
      offset = nif_init_offset(source)
      # lea entry(%rip),%rax: rewrite the 32-bit displacement to point 1 GiB away.
      <<head::binary-size(offset + 3), _::binary-size(4), rest::binary>> = full
      path = write!(dir, "far.so", head <> <<0x4000_0000::little-32>> <> rest)
      assert {:ok, report} = shaped_check(path)
      assert "nif-entry-unreadable" in Enum.map(report.findings, & &1.rule)
    end

    test "every input the fuzzers found" do
      for path <- Path.wildcard(Path.join(@regressions, "*")) do
        shaped_check(path)
      end
    end
  end

  describe "hostile files" do
    test "a 1 TiB sparse file is refused at once", %{tmp_dir: dir} do
      path = Path.join(dir, "huge.so")
      {:ok, io} = File.open(path, [:write, :raw, :binary])
      {:ok, _} = :file.position(io, 1024 * 1024 * 1024 * 1024 - 1)
      :ok = IO.binwrite(io, <<0>>)
      :ok = File.close(io)
      assert {:error, %Callconv.Error{reason: :"too-large"}} = shaped_check(path)
    end

    test "a 3 GiB sparse file of zeros is refused without being read", %{tmp_dir: dir} do
      path = Path.join(dir, "zeros.so")
      {:ok, io} = File.open(path, [:write, :raw, :binary])
      {:ok, _} = :file.position(io, 3 * 1024 * 1024 * 1024 - 1)
      :ok = IO.binwrite(io, <<0>>)
      :ok = File.close(io)
      assert {:error, %Callconv.Error{reason: :"unknown-format"}} = shaped_check(path)
    end

    test "a FIFO, devices and a directory", %{tmp_dir: dir} do
      fifo = Path.join(dir, "fifo.so")
      {_, 0} = System.cmd("mkfifo", [fifo])

      for path <- [fifo, "/dev/zero", "/dev/urandom", "/dev/null", dir] do
        assert {:error, %Callconv.Error{reason: :"not-regular"}} = shaped_check(path)
      end
    end

    test "a symlink loop", %{tmp_dir: dir} do
      a = Path.join(dir, "a.so")
      b = Path.join(dir, "b.so")
      :ok = File.ln_s(b, a)
      :ok = File.ln_s(a, b)
      assert {:error, %Callconv.Error{reason: :io, message: message}} = shaped_check(a)
      assert message =~ "symbolic links"
    end

    test "no read permission", %{tmp_dir: dir} do
      path = Path.join(dir, "noperm.so")
      File.cp!(Fixtures.host("hello_nif.so"), path)
      File.chmod!(dir, 0o755)
      File.chmod!(path, 0o000)

      if Fixtures.root?() do
        assert Fixtures.unprivileged_check_reason(path) =~ "permission-denied"
      else
        assert {:error, %Callconv.Error{reason: :"permission-denied"}} = shaped_check(path)
      end
    end

    test "paths near PATH_MAX and beyond it", %{tmp_dir: dir} do
      deep =
        Enum.reduce_while(Stream.cycle([String.duplicate("d", 200)]), dir, fn part, acc ->
          if byte_size(acc) < 3_850, do: {:cont, Path.join(acc, part)}, else: {:halt, acc}
        end)

      File.mkdir_p!(deep)
      near = Path.join(deep, "libx.so")
      File.cp!(Fixtures.host("hello_nif.so"), near)
      assert byte_size(near) > 3_850
      assert {:ok, %Callconv.Report{verdict: :pass}} = shaped_check(near)

      beyond = Path.join([deep, String.duplicate("e", 250), String.duplicate("f", 250), "x.so"])
      assert byte_size(beyond) > 4_096
      assert {:error, %Callconv.Error{}} = shaped_check(beyond)

      assert {:error, %Callconv.Error{}} =
               shaped_check(Path.join(dir, String.duplicate("n", 300)))
    end

    test "non-UTF-8 paths are passed byte for byte", %{tmp_dir: dir} do
      path = dir <> "/lib" <> <<0xFF, 0xFE, 0x80>> <> "nif.so"
      refute String.valid?(path)
      File.cp!(Fixtures.host("hello_nif.so"), path)
      assert {:ok, %Callconv.Report{verdict: :pass}} = shaped_check(path)

      missing = dir <> "/" <> <<0xC3, 0x28>> <> "missing.so"
      assert {:error, %Callconv.Error{reason: :"not-found"} = error} = shaped_check(missing)
      # The error names the file the caller gave, byte for byte, so it can be matched on.
      assert error.path == missing
    end

    test "a file that shrinks and grows while it is being checked", %{tmp_dir: dir} do
      full = File.read!(Fixtures.otp_nif("crypto-", "crypto.so"))
      path = write!(dir, "shrinking.so", full)
      # The churn process counts its cuts here; the checks go on until it has made enough.
      cuts = :atomics.new(1, signed: false)
      churn = spawn_link(fn -> churn_loop(path, full, cuts) end)

      outcomes =
        within_memory(64, fn ->
          check_while_churning(path, cuts, [])
        end)

      send(churn, :stop)
      # Counted, not timed: at least @min_cuts cuts and @min_checks checks overlapped, and
      # every check came back as a report or a read error, whatever the machine's load.
      assert :atomics.get(cuts, 1) >= @min_cuts
      assert length(outcomes) >= @min_checks

      for outcome <- outcomes do
        assert match?({:report, verdict} when verdict in [:pass, :warn, :fail], outcome) or
                 outcome in [:malformed, :empty, :"unknown-format", :"not-found", :io],
               "unexpected outcome #{inspect(outcome)}"
      end
    end
  end

  defp check_while_churning(path, cuts, acc) do
    if length(acc) >= @min_checks and :atomics.get(cuts, 1) >= @min_cuts do
      acc
    else
      outcome =
        case shaped_check(path) do
          {:ok, report} -> {:report, report.verdict}
          {:error, error} -> error.reason
        end

      check_while_churning(path, cuts, [outcome | acc])
    end
  end

  defp churn_loop(path, full, cuts) do
    receive do
      :stop -> :ok
    after
      0 ->
        count = :atomics.get(cuts, 1)
        {:ok, io} = :file.open(path, [:read, :write, :raw, :binary])
        {:ok, _} = :file.position(io, rem(count * 7919, byte_size(full)))
        :ok = :file.truncate(io)
        :ok = :file.close(io)
        File.write!(path, full)
        :atomics.add(cuts, 1, 1)
        churn_loop(path, full, cuts)
    end
  end

  # The file offset of nif_init's code (the host fixture maps its text at offset == vaddr).
  defp nif_init_offset(path) do
    {out, 0} = System.cmd("nm", ["-D", "--defined-only", path])

    [addr] =
      for line <- String.split(out, "\n"),
          [a, _, "nif_init"] <- [String.split(line)],
          do: String.to_integer(a, 16)

    {segments, 0} = System.cmd("readelf", ["-lW", path])

    [delta] =
      for line <- String.split(segments, "\n"),
          ["LOAD", off, vaddr, _, filesz | _] <- [String.split(line)],
          {o, ""} = Integer.parse(String.trim_leading(off, "0x"), 16),
          {v, ""} = Integer.parse(String.trim_leading(vaddr, "0x"), 16),
          {s, ""} = Integer.parse(String.trim_leading(filesz, "0x"), 16),
          addr >= v and addr < v + s,
          do: v - o

    offset = addr - delta
    # gcc: lea entry(%rip),%rax
    assert binary_part(File.read!(path), offset, 3) == <<0x48, 0x8D, 0x05>>
    offset
  end
end
