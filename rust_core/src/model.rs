//! The attention signal: a window of the last `window` feature vectors → normalisation → linear
//! embedding plus learned positions → pre-norm multi-head self-attention blocks (each with a
//! ReLU MLP) → final layer norm → mean pooling → logits for {down, flat, up} → softmax.
//!
//! Weights come from a safetensors file whose metadata names the feature list and the sizes; a
//! file that does not match this code is refused with a message naming what differs. No heavy
//! dependencies: the matrices are small (d_model of tens), plain loops are microseconds.

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
    /// Attention blocks.
    pub layers: usize,
    /// Width of each block's MLP.
    pub hidden: usize,
    /// Book updates ahead that the labels looked.
    pub horizon: usize,
}

#[derive(Debug, Clone)]
struct Linear {
    weight: Vec<f32>, // [out, in], row-major
    bias: Vec<f32>,
    inputs: usize,
}

impl Linear {
    fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// `y = W x + b` for each of `rows` input rows.
    fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let (inputs, outputs) = (self.inputs, self.outputs());
        let mut y = vec![0.0; rows * outputs];
        for r in 0..rows {
            let row = &x[r * inputs..(r + 1) * inputs];
            for (o, out) in y[r * outputs..(r + 1) * outputs].iter_mut().enumerate() {
                let w = &self.weight[o * inputs..(o + 1) * inputs];
                *out = self.bias[o] + w.iter().zip(row).map(|(a, b)| a * b).sum::<f32>();
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

#[derive(Debug, Clone)]
struct Block {
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
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
    positions: Vec<f32>, // [window, d_model]
    blocks: Vec<Block>,
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
        Ok(Linear {
            weight: self.get(&format!("{name}.weight"), &[outputs, inputs])?,
            bias: self.get(&format!("{name}.bias"), &[outputs])?,
            inputs,
        })
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
        let config = ModelConfig {
            window: size(&metadata, "window")?,
            d_model: size(&metadata, "d_model")?,
            heads: size(&metadata, "heads")?,
            layers: size(&metadata, "layers")?,
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
        let blocks = (0..config.layers)
            .map(|i| {
                Ok(Block {
                    ln1: t.layer_norm(&format!("blocks.{i}.ln1"), d)?,
                    qkv: t.linear(&format!("blocks.{i}.qkv"), 3 * d, d)?,
                    proj: t.linear(&format!("blocks.{i}.proj"), d, d)?,
                    ln2: t.layer_norm(&format!("blocks.{i}.ln2"), d)?,
                    fc1: t.linear(&format!("blocks.{i}.fc1"), h, d)?,
                    fc2: t.linear(&format!("blocks.{i}.fc2"), d, h)?,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Self {
            mean: t.get("norm.mean", &[f])?,
            std: t.get("norm.std", &[f])?,
            embed: t.linear("embed", d, f)?,
            positions: t.get("positions", &[config.window, d])?,
            blocks,
            ln_final: t.layer_norm("ln_final", d)?,
            head: t.linear("head", CLASSES.len(), d)?,
            config,
            metadata,
        })
    }

    /// Class probabilities for a window of raw feature vectors, oldest first;
    /// `window.len()` must be `config.window`.
    pub fn forward(&self, window: &[[f32; FEATURE_COUNT]]) -> [f32; 3] {
        let (t, d) = (self.config.window, self.config.d_model);
        assert_eq!(window.len(), t, "a window of {t} feature vectors");
        let normalised: Vec<f32> = window
            .iter()
            .flat_map(|row| (0..FEATURE_COUNT).map(move |i| (row[i] - self.mean[i]) / self.std[i]))
            .collect();
        let mut x = self.embed.apply(&normalised, t);
        for (value, position) in x.iter_mut().zip(&self.positions) {
            *value += position;
        }
        for block in &self.blocks {
            let attended = block
                .proj
                .apply(&self.attention(block, &block.ln1.apply(&x)), t);
            add(&mut x, &attended);
            let hidden: Vec<f32> = block
                .fc1
                .apply(&block.ln2.apply(&x), t)
                .into_iter()
                .map(|v| v.max(0.0))
                .collect();
            add(&mut x, &block.fc2.apply(&hidden, t));
        }
        let normed = self.ln_final.apply(&x);
        let mut pooled = vec![0.0; d];
        for row in normed.chunks_exact(d) {
            add(&mut pooled, row);
        }
        pooled.iter_mut().for_each(|v| *v /= t as f32);
        let logits = self.head.apply(&pooled, 1);
        softmax3(&logits)
    }

    fn attention(&self, block: &Block, h: &[f32]) -> Vec<f32> {
        let (t, d, heads) = (self.config.window, self.config.d_model, self.config.heads);
        let dh = d / heads;
        let qkv = block.qkv.apply(h, t); // [t, 3d]: q | k | v
        let scale = 1.0 / (dh as f32).sqrt();
        let mut out = vec![0.0; t * d];
        let mut scores = vec![0.0; t];
        for head in 0..heads {
            let at = |row: usize, part: usize| {
                let start = row * 3 * d + part * d + head * dh;
                &qkv[start..start + dh]
            };
            for i in 0..t {
                let q = at(i, 0);
                for (j, score) in scores.iter_mut().enumerate() {
                    *score = q.iter().zip(at(j, 1)).map(|(a, b)| a * b).sum::<f32>() * scale;
                }
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut total = 0.0;
                for score in scores.iter_mut() {
                    *score = (*score - max).exp();
                    total += *score;
                }
                let row = &mut out[i * d + head * dh..i * d + (head + 1) * dh];
                for (j, score) in scores.iter().enumerate() {
                    for (o, v) in row.iter_mut().zip(at(j, 2)) {
                        *o += score / total * v;
                    }
                }
            }
        }
        out
    }
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
        let mut shapes: Vec<(String, Vec<usize>)> = vec![
            ("norm.mean".into(), vec![f]),
            ("norm.std".into(), vec![f]),
            ("embed.weight".into(), vec![d, f]),
            ("embed.bias".into(), vec![d]),
            ("positions".into(), vec![t, d]),
            ("ln_final.weight".into(), vec![d]),
            ("ln_final.bias".into(), vec![d]),
            ("head.weight".into(), vec![3, d]),
            ("head.bias".into(), vec![3]),
        ];
        for i in 0..config.layers {
            for (name, shape) in [
                ("ln1.weight", vec![d]),
                ("ln1.bias", vec![d]),
                ("qkv.weight", vec![3 * d, d]),
                ("qkv.bias", vec![3 * d]),
                ("proj.weight", vec![d, d]),
                ("proj.bias", vec![d]),
                ("ln2.weight", vec![d]),
                ("ln2.bias", vec![d]),
                ("fc1.weight", vec![h, d]),
                ("fc1.bias", vec![h]),
                ("fc2.weight", vec![d, h]),
                ("fc2.bias", vec![d]),
            ] {
                shapes.push((format!("blocks.{i}.{name}"), shape));
            }
        }
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
            ("layers".to_string(), config.layers.to_string()),
            ("hidden".to_string(), config.hidden.to_string()),
            ("horizon".to_string(), config.horizon.to_string()),
        ]);
        safetensors::serialize(views, Some(metadata)).unwrap()
    }

    const CONFIG: ModelConfig = ModelConfig {
        window: 8,
        d_model: 8,
        heads: 2,
        layers: 2,
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
            error.to_string().contains("shape [8], expected [4]"),
            "{error}"
        );
    }
}
