import { z } from 'zod';
import { parseDays } from '../common/windows.js';

/** `09:00`, `17:30`, `24:00` (a window's end may be midnight). */
const clock = z
  .string()
  .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/, 'must be a time of day such as 09:00 (24-hour)');

const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin or UTC');

/**
 * `windows`: when an environment may be deployed (issue 22), e.g.
 * `{days: mon-fri, from: "09:00", to: "17:00", timeZone: Europe/Berlin}`. A window whose `to` is not
 * after its `from` runs overnight into the next day.
 */
export const WindowSchema = z.strictObject({
  days: z.string().refine((days) => {
    try {
      parseDays(days);
      return true;
    } catch {
      return false;
    }
  }, 'must be days such as mon-fri, sat,sun or mon,wed-fri (or * for every day)'),
  from: clock,
  to: clock,
  timeZone: timeZone.default('UTC'),
});

/** `freezes`: dated ranges when an environment is closed whatever its windows say, with a reason. */
export const FreezeSchema = z
  .strictObject({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    reason: z.string().trim().min(1, 'must say why'),
  })
  .refine((f) => Date.parse(f.to) > Date.parse(f.from), {
    message: 'must end after it starts',
    path: ['to'],
  });

export const WindowsSchema = z.array(WindowSchema).min(1, 'must list at least one window');
export const FreezesSchema = z.array(FreezeSchema);
