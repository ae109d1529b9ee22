// Max-pool gradient (tfjs' rule: the window's first maximum takes the gradient).

/** dx = 0, then dy of each pooling window added at the window's first maximum (tfjs' rule: `>`). */
export function maxPoolGrad(x: usize, dy: usize, dx: usize, n: i32, h: i32, w: i32, c: i32,
  oh: i32, ow: i32, fh: i32, fw: i32, sh: i32, sw: i32, padT: i32, padL: i32): void {
  memory.fill(dx, 0, (<usize>(n * h * w * c)) << 2);
  const c4 = c & ~3;
  const lanes = i32x4(0, 1, 2, 3);
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(oy * sh - padT, 0);
      const y1 = min(oy * sh - padT + fh, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(ox * sw - padL, 0);
        const x1 = min(ox * sw - padL + fw, w);
        const dyRow = dy + ((<usize>(((b * oh + oy) * ow + ox) * c)) << 2);
        let ch = 0;
        for (; ch < c4; ch += 4) {
          let best = f32x4.splat(-Infinity);
          let at = i32x4.splat(-1);
          for (let y = y0; y < y1; y++) {
            for (let xx = x0; xx < x1; xx++) {
              const e = img + (y * w + xx) * c + ch;
              const v = v128.load(x + ((<usize>e) << 2));
              const gt = f32x4.gt(v, best);
              best = v128.bitselect(v, best, gt);
              at = v128.bitselect(i32x4.add(i32x4.splat(e), lanes), at, gt);
            }
          }
          const g = v128.load(dyRow + ((<usize>ch) << 2));
          scatterAdd(dx, i32x4.extract_lane(at, 0), f32x4.extract_lane(g, 0));
          scatterAdd(dx, i32x4.extract_lane(at, 1), f32x4.extract_lane(g, 1));
          scatterAdd(dx, i32x4.extract_lane(at, 2), f32x4.extract_lane(g, 2));
          scatterAdd(dx, i32x4.extract_lane(at, 3), f32x4.extract_lane(g, 3));
        }
        for (; ch < c; ch++) {
          let best: f32 = -Infinity;
          let at = -1;
          for (let y = y0; y < y1; y++) {
            for (let xx = x0; xx < x1; xx++) {
              const e = img + (y * w + xx) * c + ch;
              const v = load<f32>(x + ((<usize>e) << 2));
              if (v > best) {
                best = v;
                at = e;
              }
            }
          }
          scatterAdd(dx, at, load<f32>(dyRow + ((<usize>ch) << 2)));
        }
      }
    }
  }
}

@inline function scatterAdd(dx: usize, at: i32, g: f32): void {
  if (at < 0) return;
  const p = dx + ((<usize>at) << 2);
  store<f32>(p, load<f32>(p) + g);
}
