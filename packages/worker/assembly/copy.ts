// Zero-padded copies in and out of NHWC tensors (convolutions run on padded inputs).

/** Zero-padded copy of x [n,h,w,c] into out [n, h+padT+padB, w+padL+padR, c]. */
export function padCopy(x: usize, out: usize, n: i32, h: i32, w: i32, c: i32, padT: i32, padB: i32, padL: i32, padR: i32): void {
  const hp = h + padT + padB;
  const wp = w + padL + padR;
  memory.fill(out, 0, (<usize>(n * hp * wp * c)) << 2);
  const rowBytes = (<usize>(w * c)) << 2;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const src = x + ((<usize>((b * h + y) * w * c)) << 2);
      const dst = out + ((<usize>(((b * hp + y + padT) * wp + padL) * c)) << 2);
      memory.copy(dst, src, rowBytes);
    }
  }
}

/** Inverse of padCopy: the interior [n,h,w,c] of a padded xp [n,hp,wp,c]. */
export function cropCopy(xp: usize, out: usize, n: i32, h: i32, w: i32, c: i32, hp: i32, wp: i32, padT: i32, padL: i32): void {
  const rowBytes = (<usize>(w * c)) << 2;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const src = xp + ((<usize>(((b * hp + y + padT) * wp + padL) * c)) << 2);
      const dst = out + ((<usize>((b * h + y) * w * c)) << 2);
      memory.copy(dst, src, rowBytes);
    }
  }
}
