//! The attention signal. Each feature vector of the window is normalised, embedded (linear),
//! layer-normed and projected to a key and a value — on its own, so a row is computed once, when
//! it arrives (`Row`). The newest row also gives a query; one multi-head attention of that query
//! over the window's keys, plus a learned bias per head and window slot, pools the window. The
//! result is added to the newest embedding, a pre-norm ReLU MLP is added, and a final layer norm,
//! a linear head and a softmax give the probabilities of {down, flat, up}.
//!
//! Weights come from a safetensors file whose metadata names the feature list and the sizes; a
//! file that does not match this code is refused with a message naming what differs. No heavy
//! dependencies: the matrices are small, plain loops are microseconds.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors};
use thiserror::Error;

use crate::features::{FEATURES, FEATURE_COUNT};

/// Classes of the output, in order.
pub const CLASSES: [&str; 3] = ["down", "flat", "up"];
const EPS: f32 = 1e-5;

/// Why a weights file was refused.
#[derive(Debug, Error, PartialEq)]
pub enum ModelError {
    /// Not a safetensors file, or a truncated one.
    #[error("not a valid safetensors file: {0}")]
    Format(String),
    /// The metadata header lacks a key or has a bad value.
    #[error("metadata {key}: {problem}")]
    Metadata {
        /// The metadata key.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The file was trained on other features than this code computes.
    #[error("features {found:?} do not match this build's {expected:?}")]
    Features {
        /// The features this code computes.
        expected: Vec<String>,
        /// The features the file names.
        found: Vec<String>,
    },
    /// A tensor is missing or has the wrong shape or type.
    #[error("tensor {name}: {problem}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Sizes read from the weights file's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Feature vectors per window.
    pub window: usize,
    /// Width of the model.
    pub d_model: usize,
    /// Attention heads; divides `d_model`.
    pub heads: usize,
    /// Width of each block's MLP.
    pub hidden: usize,
    /// Book updates ahead that the labels looked.
    pub horizon: usize,
}

#[derive(Debug, Clone)]
struct Linear {
    /// W transposed, [in, out] row-major: `y += W[i, :] * x[i]` runs over contiguous memory
    /// and vectorises (a dot product per output would be a sequential reduction).
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
}

impl Linear {
    fn new(weight: &[f32], bias: Vec<f32>, inputs: usize) -> Self {
        let outputs = bias.len();
        let mut weight_t = vec![0.0; weight.len()];
        for o in 0..outputs {
            for i in 0..inputs {
                weight_t[i * outputs + o] = weight[o * inputs + i];
            }
        }
        Self {
            weight_t,
            bias,
            inputs,
        }
    }

    fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// `y = W x + b` for each of `rows` input rows.
    fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let (inputs, outputs) = (self.inputs, self.outputs());
        let mut y = self.bias.repeat(rows);
        for (row, out) in x.chunks_exact(inputs).zip(y.chunks_exact_mut(outputs)) {
            for (xi, column) in row.iter().zip(self.weight_t.chunks_exact(outputs)) {
                for (o, w) in out.iter_mut().zip(column) {
                    *o += w * xi;
                }
            }
        }
        y
    }
}

#[derive(Debug, Clone)]
struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl LayerNorm {
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        let d = self.weight.len();
        let mut y = vec![0.0; x.len()];
        for (row, out) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + EPS).sqrt();
            for i in 0..d {
                out[i] = (row[i] - mean) * inv * self.weight[i] + self.bias[i];
            }
        }
        y
    }
}

/// What the model keeps of one window row: computed once, when the row arrives.
#[derive(Debug, Clone)]
pub struct Row {
    embedded: Vec<f32>,
    /// Query, key and value, one after the other.
    qkv: Vec<f32>,
}

/// A loaded model.
#[derive(Debug, Clone)]
pub struct AttentionModel {
    /// Its sizes.
    pub config: ModelConfig,
    /// Every metadata entry of the file, for reports.
    pub metadata: HashMap<String, String>,
    mean: Vec<f32>,
    std: Vec<f32>,
    embed: Linear,
    ln1: LayerNorm,
    qkv: Linear,
    position_bias: Vec<f32>, // [heads, window]
    proj: Linear,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ln_final: LayerNorm,
    head: Linear,
}

struct Tensors<'a> {
    file: SafeTensors<'a>,
}

impl Tensors<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let bad = |problem: String| ModelError::Tensor {
            name: name.to_string(),
            problem,
        };
        let view = self
            .file
            .tensor(name)
            .map_err(|_| bad("missing".to_string()))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("dtype {:?}, expected F32", view.dtype())));
        }
        if view.shape() != shape {
            return Err(bad(format!("shape {:?}, expected {shape:?}", view.shape())));
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn linear(&self, name: &str, outputs: usize, inputs: usize) -> Result<Linear, ModelError> {
        Ok(Linear::new(
            &self.get(&format!("{name}.weight"), &[outputs, inputs])?,
            self.get(&format!("{name}.bias"), &[outputs])?,
            inputs,
        ))
    }

    fn layer_norm(&self, name: &str, d: usize) -> Result<LayerNorm, ModelError> {
        Ok(LayerNorm {
            weight: self.get(&format!("{name}.weight"), &[d])?,
            bias: self.get(&format!("{name}.bias"), &[d])?,
        })
    }
}

fn size(metadata: &HashMap<String, String>, key: &str) -> Result<usize, ModelError> {
    let bad = |problem: &str| ModelError::Metadata {
        key: key.to_string(),
        problem: problem.to_string(),
    };
    let value = metadata.get(key).ok_or_else(|| bad("missing"))?;
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(&format!("{value:?} is not a positive integer"))),
    }
}

impl AttentionModel {
    /// Reads a weights file's bytes, checking its features and every tensor's shape.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Format(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| ModelError::Format(e.to_string()))?;
        let features: Vec<String> = metadata
            .get("features")
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| ModelError::Metadata {
                key: "features".into(),
                problem: "missing, or not a JSON list of names".into(),
            })?;
        if features != FEATURES {
            return Err(ModelError::Features {
                expected: FEATURES.iter().map(|f| f.to_string()).collect(),
                found: features,
            });
        }
        if size(&metadata, "layers")? != 1 {
            return Err(ModelError::Metadata {
                key: "layers".into(),
                problem: "this build runs one attention block".into(),
            });
        }
        let config = ModelConfig {
            window: size(&metadata, "window")?,
            d_model: size(&metadata, "d_model")?,
            heads: size(&metadata, "heads")?,
            hidden: size(&metadata, "hidden")?,
            horizon: size(&metadata, "horizon")?,
        };
        if config.d_model % config.heads != 0 {
            return Err(ModelError::Metadata {
                key: "heads".into(),
                problem: format!(
                    "{} does not divide d_model {}",
                    config.heads, config.d_model
                ),
            });
        }
        let t = Tensors { file };
        let (d, f, h) = (config.d_model, FEATURE_COUNT, config.hidden);
        Ok(Self {
            mean: t.get("norm.mean", &[f])?,
            std: t.get("norm.std", &[f])?,
            embed: t.linear("embed", d, f)?,
            ln1: t.layer_norm("block.ln1", d)?,
            qkv: t.linear("block.qkv", 3 * d, d)?,
            position_bias: t.get("block.position_bias", &[config.heads, config.window])?,
            proj: t.linear("block.proj", d, d)?,
            ln2: t.layer_norm("block.ln2", d)?,
            fc1: t.linear("block.fc1", h, d)?,
            fc2: t.linear("block.fc2", d, h)?,
            ln_final: t.layer_norm("ln_final", d)?,
            head: t.linear("head", CLASSES.len(), d)?,
            config,
            metadata,
        })
    }

    /// A raw feature vector's row: its embedding, query, key and value.
    pub fn row(&self, features: &[f32; FEATURE_COUNT]) -> Row {
        let normalised: [f32; FEATURE_COUNT] =
            std::array::from_fn(|i| (features[i] - self.mean[i]) / self.std[i]);
        let embedded = self.embed.apply(&normalised, 1);
        let qkv = self.qkv.apply(&self.ln1.apply(&embedded), 1);
        Row { embedded, qkv }
    }

    /// Class probabilities from a full window of rows, oldest first.
    pub fn readout<'a>(&self, rows: impl ExactSizeIterator<Item = &'a Row> + Clone) -> [f32; 3] {
        let (t, d, heads) = (self.config.window, self.config.d_model, self.config.heads);
        assert_eq!(rows.len(), t, "a window of {t} rows");
        let dh = d / heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let newest = rows.clone().last().expect("a window is never empty");
        let mut attended = vec![0.0; d];
        let mut scores = vec![0.0; t];
        for head in 0..heads {
            let part = head * dh..(head + 1) * dh;
            let (keys, values) = (d + head * dh, 2 * d + head * dh);
            let query = &newest.qkv[part.clone()];
            let bias = &self.position_bias[head * t..(head + 1) * t];
            for ((score, row), bias) in scores.iter_mut().zip(rows.clone()).zip(bias) {
                *score = dot(query, &row.qkv[keys..keys + dh]) * scale + bias;
            }
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut total = 0.0;
            for score in scores.iter_mut() {
                *score = (*score - max).exp();
                total += *score;
            }
            let out = &mut attended[part.clone()];
            for (score, row) in scores.iter().zip(rows.clone()) {
                let weight = score / total;
                for (o, v) in out.iter_mut().zip(&row.qkv[values..values + dh]) {
                    *o += weight * v;
                }
            }
        }
        let mut x = self.proj.apply(&attended, 1);
        add(&mut x, &newest.embedded);
        let hidden: Vec<f32> = self
            .fc1
            .apply(&self.ln2.apply(&x), 1)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        add(&mut x, &self.fc2.apply(&hidden, 1));
        softmax3(&self.head.apply(&self.ln_final.apply(&x), 1))
    }

    /// Class probabilities for a window of raw feature vectors, oldest first;
    /// `window.len()` must be `config.window`.
    pub fn forward(&self, window: &[[f32; FEATURE_COUNT]]) -> [f32; 3] {
        let rows: Vec<Row> = window.iter().map(|features| self.row(features)).collect();
        self.readout(rows.iter())
    }
}

/// A dot product in eight independent lanes, so that the compiler can use SIMD (a single
/// running sum has to be added in order).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
}

fn softmax3(logits: &[f32]) -> [f32; 3] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f32 = e.iter().sum();
    [e[0] / total, e[1] / total, e[2] / total]
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    /// A weights file of the given sizes, every value from a simple deterministic sequence.
    fn weights_file(config: ModelConfig, features: &[&str]) -> Vec<u8> {
        let (d, f, h, t) = (config.d_model, FEATURE_COUNT, config.hidden, config.window);
        let shapes: Vec<(String, Vec<usize>)> = [
            ("norm.mean", vec![f]),
            ("norm.std", vec![f]),
            ("embed.weight", vec![d, f]),
            ("embed.bias", vec![d]),
            ("block.ln1.weight", vec![d]),
            ("block.ln1.bias", vec![d]),
            ("block.qkv.weight", vec![3 * d, d]),
            ("block.qkv.bias", vec![3 * d]),
            ("block.position_bias", vec![config.heads, t]),
            ("block.proj.weight", vec![d, d]),
            ("block.proj.bias", vec![d]),
            ("block.ln2.weight", vec![d]),
            ("block.ln2.bias", vec![d]),
            ("block.fc1.weight", vec![h, d]),
            ("block.fc1.bias", vec![h]),
            ("block.fc2.weight", vec![d, h]),
            ("block.fc2.bias", vec![d]),
            ("ln_final.weight", vec![d]),
            ("ln_final.bias", vec![d]),
            ("head.weight", vec![3, d]),
            ("head.bias", vec![3]),
        ]
        .into_iter()
        .map(|(name, shape)| (name.to_string(), shape))
        .collect();
        let mut seed = 1u32;
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
            .into_iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                let values: Vec<f32> = (0..n)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        let unit = (seed >> 8) as f32 / (1u32 << 24) as f32;
                        if name == "norm.std" {
                            0.5 + unit
                        } else {
                            unit - 0.5
                        }
                    })
                    .collect();
                let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (name, shape, bytes)
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = data
            .iter()
            .map(|(name, shape, bytes)| {
                (
                    name.clone(),
                    TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap(),
                )
            })
            .collect();
        let metadata = HashMap::from([
            (
                "features".to_string(),
                serde_json::to_string(features).unwrap(),
            ),
            ("window".to_string(), config.window.to_string()),
            ("d_model".to_string(), config.d_model.to_string()),
            ("heads".to_string(), config.heads.to_string()),
            ("layers".to_string(), "1".to_string()),
            ("hidden".to_string(), config.hidden.to_string()),
            ("horizon".to_string(), config.horizon.to_string()),
        ]);
        safetensors::serialize(views, Some(metadata)).unwrap()
    }

    const CONFIG: ModelConfig = ModelConfig {
        window: 8,
        d_model: 8,
        heads: 2,
        hidden: 16,
        horizon: 10,
    };

    #[test]
    fn a_valid_file_loads_and_gives_probabilities() {
        let model = AttentionModel::from_bytes(&weights_file(CONFIG, &FEATURES)).unwrap();
        assert_eq!(model.config, CONFIG);
        let window: Vec<[f32; FEATURE_COUNT]> = (0..CONFIG.window)
            .map(|i| std::array::from_fn(|j| (i * FEATURE_COUNT + j) as f32 / 10.0))
            .collect();
        let probabilities = model.forward(&window);
        assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(probabilities.iter().all(|p| *p > 0.0));
        // Order matters to attention with positions: a reversed window reads differently.
        let reversed: Vec<_> = window.iter().rev().copied().collect();
        assert_ne!(model.forward(&reversed), probabilities);
    }

    #[test]
    fn other_features_are_refused() {
        let mut features = FEATURES.to_vec();
        features.swap(0, 1);
        let error = AttentionModel::from_bytes(&weights_file(CONFIG, &features)).unwrap_err();
        assert!(matches!(error, ModelError::Features { .. }));
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let bytes = weights_file(CONFIG, &FEATURES);
        let error = AttentionModel::from_bytes(&bytes[..bytes.len() - 10]).unwrap_err();
        assert!(matches!(error, ModelError::Format(_)));
        let error = AttentionModel::from_bytes(b"not a weights file").unwrap_err();
        assert!(matches!(error, ModelError::Format(_)));
    }

    #[test]
    fn sizes_that_do_not_match_the_tensors_are_refused() {
        let mut bytes = weights_file(CONFIG, &FEATURES);
        // The same tensors under a header claiming a narrower model (same length: "8" -> "4").
        let pattern = b"\"d_model\":\"8\"";
        let at = bytes
            .windows(pattern.len())
            .position(|w| w == pattern)
            .unwrap();
        bytes[at + pattern.len() - 2] = b'4';
        let error = AttentionModel::from_bytes(&bytes).unwrap_err();
        assert!(matches!(error, ModelError::Tensor { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("shape [8, 11], expected [4, 11]"),
            "{error}"
        );
    }
}
