//! The GPU connection: adapter and device (asking for no more than the adapter offers), what the
//! device reported going wrong, and buffers that are counted so leak tests can see them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{EmbedError, Result};

/// GPU buffers alive in this process (in wasm: this model's instance), for leak checks.
static LIVE_BUFFERS: AtomicUsize = AtomicUsize::new(0);

pub fn live_buffer_count() -> usize {
    LIVE_BUFFERS.load(Ordering::Relaxed)
}

/// A wgpu buffer that frees its GPU memory when dropped, not when the GC or wgpu gets round to it.
pub struct GpuBuffer {
    pub buffer: wgpu::Buffer,
    pub size: u64,
    /// The owning device's count of live buffers.
    live: Arc<AtomicUsize>,
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        self.buffer.destroy();
        self.live.fetch_sub(1, Ordering::Relaxed);
        LIVE_BUFFERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the device said went wrong since the last check: loss or an error outside any scope.
#[derive(Default)]
struct Health {
    lost: AtomicBool,
    failure: Mutex<Option<String>>,
}

pub struct GpuDevice {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub limits: wgpu::Limits,
    pub shader_f16: bool,
    pub adapter_name: String,
    /// Shaders run on the CPU (lavapipe, SwiftShader, WARP): a few threads per SIMD instruction,
    /// not a warp of 32, so the matmul splits its tiles differently (`MatmulTiling`).
    pub software: bool,
    health: Arc<Health>,
    live_buffers: Arc<AtomicUsize>,
}

/// How the adapter is chosen.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeviceOptions {
    /// Store matrices as f16 when the adapter has `shader-f16` (half the memory and bandwidth).
    pub allow_f16: bool,
    /// The caller knows the adapter runs shaders on the CPU (the page matched its name: browsers
    /// do not always flag SwiftShader as a fallback adapter), so kernels take their software shapes.
    pub software_adapter: bool,
}

fn webgpu_error(message: impl Into<String>) -> EmbedError {
    EmbedError::WebGpu(message.into())
}

impl GpuDevice {
    pub async fn open(options: DeviceOptions) -> Result<Self> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = if cfg!(target_arch = "wasm32") { wgpu::Backends::BROWSER_WEBGPU } else { wgpu::Backends::VULKAN };
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| webgpu_error(format!("no WebGPU adapter: {e}")))?;
        let info = adapter.get_info();
        let adapter_limits = adapter.limits();
        let shader_f16 = options.allow_f16 && adapter.features().contains(wgpu::Features::SHADER_F16);
        let required_features = if shader_f16 { wgpu::Features::SHADER_F16 } else { wgpu::Features::empty() };
        // Exactly what the adapter offers: larger bindings let bigger batches run in one pass.
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("webembed"),
                required_features,
                required_limits: adapter_limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| webgpu_error(format!("the adapter {:?} refused a device: {e}", info.name)))?;
        let health = Arc::new(Health::default());
        let on_lost = health.clone();
        device.set_device_lost_callback(move |reason, message| {
            on_lost.lost.store(true, Ordering::SeqCst);
            if let Ok(mut failure) = on_lost.failure.lock() {
                failure.get_or_insert_with(|| format!("device lost ({reason:?}): {message}"));
            }
        });
        // wgpu's default handler panics, which would abort the wasm instance: record instead, and
        // let the next readback see it and fall back to the CPU.
        let on_error = health.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            if let Ok(mut failure) = on_error.failure.lock() {
                failure.get_or_insert_with(|| error.to_string());
            }
        }));
        Ok(GpuDevice {
            limits: device.limits(),
            device,
            queue,
            shader_f16,
            software: options.software_adapter || info.device_type == wgpu::DeviceType::Cpu,
            adapter_name: if info.name.is_empty() { format!("{:?}", info.backend) } else { info.name },
            health,
            live_buffers: Arc::default(),
        })
    }

    /// The first failure the device reported, if any; a failed device is not used again.
    pub fn failure(&self) -> Option<String> {
        let failure = self.health.failure.lock().ok().and_then(|f| f.clone());
        match failure {
            Some(message) => Some(message),
            None if self.health.lost.load(Ordering::SeqCst) => Some("device lost".into()),
            None => None,
        }
    }

    pub fn check(&self) -> Result<()> {
        match self.failure() {
            Some(message) => Err(webgpu_error(message)),
            None => Ok(()),
        }
    }

    /// Buffers made on this device and not yet dropped.
    pub fn live_buffers(&self) -> usize {
        self.live_buffers.load(Ordering::Relaxed)
    }

    /// The largest storage binding this device takes (and so the largest buffer we make).
    pub fn max_binding(&self) -> u64 {
        self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size)
    }

    pub fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> Result<GpuBuffer> {
        // Zero-sized bindings are invalid; round up to whole words for copies.
        let size = size.max(4).next_multiple_of(4);
        if size > self.limits.max_buffer_size {
            return Err(webgpu_error(format!(
                "{label} needs {:.1} MB, more than this adapter's largest buffer ({:.1} MB)",
                size as f64 / 1e6,
                self.limits.max_buffer_size as f64 / 1e6
            )));
        }
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false });
        LIVE_BUFFERS.fetch_add(1, Ordering::Relaxed);
        self.live_buffers.fetch_add(1, Ordering::Relaxed);
        Ok(GpuBuffer { buffer, size, live: self.live_buffers.clone() })
    }

    /// A storage buffer holding `bytes`, refused when it is larger than one binding may be.
    pub fn upload(&self, label: &str, bytes: &[u8]) -> Result<GpuBuffer> {
        if bytes.len() as u64 > self.max_binding() {
            return Err(webgpu_error(format!(
                "{label} needs {:.1} MB, more than this adapter lets one shader binding hold ({:.1} MB); the model does not fit this GPU",
                bytes.len() as f64 / 1e6,
                self.max_binding() as f64 / 1e6
            )));
        }
        let buffer = self.buffer(label, bytes.len() as u64, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST)?;
        self.write(&buffer, 0, bytes);
        Ok(buffer)
    }

    /// Writes `bytes` (padded to whole words, as WebGPU requires) at `offset`.
    pub fn write(&self, buffer: &GpuBuffer, offset: u64, bytes: &[u8]) {
        if bytes.len().is_multiple_of(4) {
            self.queue.write_buffer(&buffer.buffer, offset, bytes);
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().next_multiple_of(4), 0);
            self.queue.write_buffer(&buffer.buffer, offset, &padded);
        }
    }

    /// A bind group for `pipeline`: `uniform` at binding 0, then `buffers` at bindings 1, 2, …
    /// (the layout every kernel here uses).
    pub fn bind(&self, pipeline: &wgpu::ComputePipeline, uniform: wgpu::BindingResource<'_>, buffers: &[&GpuBuffer]) -> wgpu::BindGroup {
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform }];
        entries.extend(
            buffers.iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.buffer.as_entire_binding() }),
        );
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    /// Test hook: destroys the device as a driver reset or a lost GPU would.
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// Runs `make` inside an out-of-memory scope: an allocation the GPU cannot satisfy is an
    /// error here rather than a lost device later.
    pub async fn out_of_memory_scope<T>(&self, make: impl FnOnce() -> Result<T>) -> Result<T> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let made = make();
        let error = scope.pop().await;
        let made = made?;
        match error {
            Some(error) => Err(webgpu_error(format!("out of GPU memory: {error}"))),
            None => Ok(made),
        }
    }

    /// Copies `size` bytes of `source` back to the CPU, awaiting the map (never blocking a
    /// browser thread); the only readback of a batch.
    pub async fn read(&self, source: &GpuBuffer, staging: &GpuBuffer, size: u64) -> Result<Vec<f32>> {
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        encoder.copy_buffer_to_buffer(&source.buffer, 0, &staging.buffer, 0, size);
        self.queue.submit([encoder.finish()]);
        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.buffer.map_async(wgpu::MapMode::Read, 0..size, move |result| {
            let _ = sender.send(result);
        });
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
        let mapped = receiver.await.map_err(|_| webgpu_error("the GPU dropped the readback"))?;
        mapped.map_err(|e| webgpu_error(format!("reading the results back failed: {e}")))?;
        self.check()?;
        let values = {
            let view =
                staging.buffer.get_mapped_range(0..size).map_err(|e| webgpu_error(format!("reading the results back failed: {e}")))?;
            // The mapped range may not be 4-byte aligned for a cast, so copy it out.
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        staging.buffer.unmap();
        Ok(values)
    }
}
