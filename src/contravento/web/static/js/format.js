// Spanish (es-ES) formatting for the numbers a cyclist reads. A number and its unit are held
// together by a no-break space (NBSP), and a negative number carries a true minus sign (U+2212),
// never a hyphen, and never "−0".

export const NBSP = "\u00a0";
export const MINUS = "\u2212";

const formats = new Map();

function number(value, decimals) {
  if (!formats.has(decimals)) {
    formats.set(
      decimals,
      new Intl.NumberFormat("es-ES", {
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
        signDisplay: "never",
      }),
    );
  }
  const text = formats.get(decimals).format(value);
  const zero = /^[0.,]+$/.test(text.replace(/\s/g, ""));
  return value < 0 && !zero ? `${MINUS}${text}` : text;
}

const unit = (text, u) => `${text}${NBSP}${u}`;

export const km = (v) => unit(number(v, 2), "km");
export const meters = (v) => unit(number(v, 0), "m");
export const speed = (v) => unit(number(v, 1), "km/h");
export const integer = (v) => number(v, 0);
export const decimal = (v, d = 1) => number(v, d);
export const withUnit = (v, d, u) => unit(number(v, d), u);
export const percent = (v) => unit(number(v, 1), "%");

export function duration(seconds) {
  const total = Math.round(seconds);
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (days > 0) return `${unit(days, "d")} ${unit(hours, "h")}`;
  if (hours > 0) return `${unit(hours, "h")} ${unit(pad(minutes), "min")}`;
  return `${unit(minutes, "min")} ${unit(pad(secs), "s")}`;
}

export function bytes(n) {
  if (n < 1024) return unit(n, "B");
  if (n < 1024 * 1024) return unit(number(n / 1024, 0), "KB");
  return unit(number(n / (1024 * 1024), 1), "MB");
}

const dateTimeFormat = new Intl.DateTimeFormat("es-ES", { dateStyle: "medium", timeStyle: "short" });
const dateFormat = new Intl.DateTimeFormat("es-ES", { dateStyle: "long" });

export const dateTime = (iso) => dateTimeFormat.format(new Date(iso));
export const date = (iso) => dateFormat.format(new Date(iso));

const zoned = new Map();
function zonedFormat(timeZone, kind) {
  const key = `${timeZone}|${kind}`;
  if (!zoned.has(key)) {
    const options =
      kind === "date"
        ? { day: "numeric", month: "short", year: "numeric" }
        : { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    zoned.set(key, new Intl.DateTimeFormat("es-ES", { ...options, timeZone }));
  }
  return zoned.get(key);
}

function validZone(timeZone) {
  try {
    zonedFormat(timeZone, "date");
    return true;
  } catch {
    return false;
  }
}

// A wall-clock ISO text ("2024-05-01T09:12:00", an offset or not) read as the ride's own time.
function wallClock(localIso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(localIso || "");
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5])) : null;
}

// When and where a ride started, in the ride's own time: { date, time, zone, local }.
// stats.timezone (IANA) first, then stats.start_time_local as a wall clock, else UTC (said).
export function rideStart({ start_time, start_time_local, timezone } = {}) {
  if (start_time && timezone && validZone(timezone)) {
    const at = new Date(start_time);
    return {
      date: zonedFormat(timezone, "date").format(at),
      time: zonedFormat(timezone, "time").format(at),
      zone: timezone,
      local: true,
    };
  }
  const wall = wallClock(start_time_local);
  if (wall) {
    return {
      date: zonedFormat("UTC", "date").format(wall),
      time: zonedFormat("UTC", "time").format(wall),
      zone: timezone || null,
      local: true,
    };
  }
  if (!start_time) return null;
  const at = new Date(start_time);
  return {
    date: zonedFormat("UTC", "date").format(at),
    time: zonedFormat("UTC", "time").format(at),
    zone: "UTC",
    local: false,
  };
}

// "1 may 2024, 09:12" (+ " UTC" when the ride's zone is unknown).
export function rideStartText(stats) {
  const start = rideStart(stats);
  if (!start) return null;
  return `${start.date}, ${start.time}${start.local ? "" : `${NBSP}UTC`}`;
}

// Gain and loss: "+325 m", "−120 m"; nothing climbed or descended is plain "0 m".
export const gain = (v) => (Math.round(v) === 0 ? meters(0) : `+${meters(v)}`);
export const loss = (v) => (Math.round(v) === 0 ? meters(0) : `${MINUS}${meters(Math.abs(v))}`);

// The day of an instant when the ride's zone is not known: "1 jun 2024" (UTC).
export const day = (iso) => zonedFormat("UTC", "date").format(new Date(iso));
