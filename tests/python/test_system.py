"""The coordinator through Python: configuration (typed values, precedence, JSON files, checks),
compress/decompress with priorities and metadata, batches, many threads at once, status and
metrics, shutdown, and the seeds' names."""
import json
import threading

import numpy as np
import pytest

import saraphis


def test_configuration_values_sources_and_files(tmp_path, monkeypatch):
    config = saraphis.Configuration(gpu_memory_limit_mb=4096, enable_auto_swap=False,
                                    optimization_strategy="throughput",
                                    swap_thresholds={"low": 0.4, "moderate": 0.7})
    assert config["gpu_memory_limit_mb"] == 4096
    assert config["enable_auto_swap"] is False
    assert config["optimization_strategy"] == "throughput"
    assert config["swap_thresholds.low"] == pytest.approx(0.4)
    assert config.source("gpu_memory_limit_mb") == "api"
    assert config.source("prime") == "default"
    path = tmp_path / "compression_config.json"
    config.save(path)
    saved = json.loads(path.read_text())
    assert saved["gpu_memory_limit_mb"] == 4096 and saved["swap_thresholds"]["low"] == 0.4
    loaded = saraphis.Configuration.load(path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.source("gpu_memory_limit_mb") == "json"
    # The environment outranks the file, and code outranks both.
    monkeypatch.setenv("SARAPHIS_GPU_MEMORY_LIMIT_MB", "2048")
    loaded.apply_env()
    assert loaded["gpu_memory_limit_mb"] == 2048 and loaded.source("gpu_memory_limit_mb") == "env"
    loaded["gpu_memory_limit_mb"] = 1024
    loaded.apply_env()
    assert loaded["gpu_memory_limit_mb"] == 1024
    names = {field["name"] for field in saraphis.fields()}
    assert {"enable_smart_pool", "swap_policy", "enable_cpu_bursting", "prime"} <= names


def test_configuration_errors_name_the_field(tmp_path):
    with pytest.raises(saraphis.NotFoundError, match="no field named 'gpu_memory'"):
        saraphis.Configuration(gpu_memory=1)
    with pytest.raises(saraphis.InvalidArgumentError, match="swap_thresholds.low.*range"):
        saraphis.Configuration(swap_thresholds={"low": 5})
    with pytest.raises(saraphis.InvalidArgumentError, match="swap_policy"):
        saraphis.Configuration(swap_policy="reckless")
    bad = tmp_path / "bad.json"
    bad.write_text('{"prime": "eleven"}')
    with pytest.raises(saraphis.SaraphisError, match="prime"):
        saraphis.Configuration.load(bad)
    with pytest.raises(saraphis.SaraphisError, match="swap"):
        saraphis.System(saraphis.Configuration(swap_thresholds={"low": 0.9, "moderate": 0.5}))
    with pytest.raises(saraphis.InvalidArgumentError, match="config must be"):
        saraphis.System(42)


def test_compress_decompress_with_priorities_and_metadata(rng):
    weight = rng.normal(0, 0.02, (300, 200)).astype(np.float32)
    with saraphis.System({"optimization_strategy": "balanced"}) as system:
        result = system.compress(weight, priority="critical",
                                 metadata={"model_name": "mlp", "layer": 12, "note": "kept"})
        assert result.shape == (300, 200) and result.dtype == "F32"
        assert result.codec == "lossless" and result.compression_ratio > 1.1
        assert result.processing_mode in ("cpu", "gpu", "hybrid") and result.route_reason
        assert result.metadata == {"model_name": "mlp", "layer": 12, "note": "kept"}
        assert result.timings["total_ms"] >= result.timings["codec_ms"] > 0
        back = system.decompress(result)
        assert back.shape == weight.shape and back.tobytes() == weight.tobytes()
        # A frame alone is 1-D unless a shape comes with it; it decodes with the plain codec too.
        assert system.decompress(result.compressed_data).shape == (60000,)
        assert saraphis.decompress(result.compressed_data, weight.shape).tobytes() == weight.tobytes()
        strided = weight.T[::3]
        assert system.decompress(system.compress(strided)).tobytes() == strided.tobytes()
        out = np.empty_like(weight)
        assert system.decompress(result, out=out) is out and np.array_equal(out, weight)
        with pytest.raises(saraphis.InvalidArgumentError, match="priority|urgent"):
            system.compress(weight, priority="urgent")
        with pytest.raises(saraphis.InvalidArgumentError, match="metadata"):
            system.compress(weight, metadata=["layer"])
        with pytest.raises(saraphis.SaraphisError, match="layer"):
            system.compress(weight, metadata={"layer": [1, 2]})


def test_bounded_system(rng):
    weight = rng.normal(0, 0.02, (256, 256)).astype(np.float32)
    config = saraphis.Configuration(codec="bounded", error_bound_mode="absolute", error_bound=1e-3)
    with saraphis.System(config) as system:
        result = system.compress(weight)
        assert result.codec == "bounded" and result.compression_ratio > 3
        assert np.abs(system.decompress(result) - weight).max() <= 1e-3


def test_batch_threads_status_and_shutdown(rng):
    tensors = [rng.normal(0, 0.02, (64 + i, 48)).astype(np.float32) for i in range(12)]
    system = saraphis.create_compression_system({"cpu_workers": 4})
    results = system.compress_batch(tensors, priority="high",
                                    metadata=[{"layer": i} for i in range(12)])
    for index, (tensor, result) in enumerate(zip(tensors, results)):
        assert result.metadata == {"layer": index}
        assert system.decompress(result).tobytes() == tensor.tobytes()
    with pytest.raises(saraphis.DtypeError, match="tensor 1"):
        system.compress_batch([tensors[0], np.zeros(3, np.complex64)])

    failures = []

    def work(index):
        try:
            for _ in range(5):
                result = system.compress(tensors[index], priority=("low", "high")[index % 2])
                assert system.decompress(result).tobytes() == tensors[index].tobytes()
        except Exception as error:  # reported below, on the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures

    status = system.get_system_status()
    assert status["state"] == "running"
    assert status["statistics"]["total_compressions"] == 12 + 40  # the refused batch counts none
    system.optimize_system("latency")
    assert system.status()["performance"]["current_strategy"] == "latency"
    with pytest.raises(saraphis.InvalidArgumentError, match="strategy|fastest"):
        system.optimize("fastest")
    metrics = system.metrics_prometheus()
    assert "saraphis_info" in metrics and 'strategy="latency"' in metrics
    system.shutdown()
    system.shutdown()  # idempotent
    assert system.status()["state"] == "stopped"
    with pytest.raises(saraphis.StateError):
        system.compress(tensors[0])
    system.close()
    with pytest.raises(saraphis.StateError, match="closed"):
        system.status()


def test_seed_style_entry_points(tmp_path, rng):
    config = saraphis.SystemConfiguration(gpu_memory_limit_mb=4096, enable_smart_pool=True,
                                          optimization_strategy="throughput", prime=251)
    path = tmp_path / "compression_config.json"
    config.save(path)
    system = saraphis.load_compression_system(path)
    tensor = rng.normal(0, 1, (100, 100)).astype(np.float32)
    result = system.compress(tensor, priority="high")
    assert result.compression_ratio > 1
    assert np.array_equal(system.decompress(result), tensor)
    assert system.get_system_status()["configuration"]["gpu_memory_limit_mb"]["value"] == 4096
    system.shutdown()


def test_gpu_output_without_a_gpu_is_refused(rng):
    if saraphis.gpu_available():
        pytest.skip("a GPU is usable here (tests/python/test_torch.py covers it)")
    tensor = rng.normal(0, 1, (10, 10)).astype(np.float32)
    with saraphis.System() as system:
        result = system.compress(tensor)
        with pytest.raises(saraphis.InvalidArgumentError, match="like='torch'"):
            system.decompress(result, device="cuda")
