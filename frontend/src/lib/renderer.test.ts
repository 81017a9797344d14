import { describe, expect, it } from 'vitest';
import { isSoftwareGl } from './renderer';

describe('isSoftwareGl', () => {
  it('recognises software rasterisers and leaves GPUs alone', () => {
    expect(isSoftwareGl('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)')).toBe(true);
    expect(isSoftwareGl('llvmpipe (LLVM 15.0.6, 256 bits)')).toBe(true);
    expect(isSoftwareGl('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)')).toBe(false);
    expect(isSoftwareGl('Apple M2')).toBe(false);
  });
});
