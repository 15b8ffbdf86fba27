import type {
  Metric,
  MetricCounter,
  MetricGauge,
  MetricHistogram,
  MetricMeter,
  MetricTags,
  NumericMetricValueType,
} from '@temporalio/common';

/**
 * A MetricMeter that keeps what was recorded, keyed `name{k=v,…}` (tags sorted): for code that reports
 * through a meter without a Prometheus endpoint in the test process.
 */
export class RecordingMeter implements MetricMeter {
  readonly values = new Map<string, number>();

  private key(name: string, tags: MetricTags = {}): string {
    const labels = Object.entries(tags)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
    return `${name}{${labels}}`;
  }

  get(name: string, tags: MetricTags = {}): number | undefined {
    return this.values.get(this.key(name, tags));
  }

  createCounter(name: string, unit = '', description = ''): MetricCounter {
    return tagless<MetricCounter>({ name, unit, description }, 'counter', 'int', {
      add: (value, tags) => {
        const key = this.key(name, tags);
        this.values.set(key, (this.values.get(key) ?? 0) + value);
      },
    });
  }

  createGauge(
    name: string,
    valueType: NumericMetricValueType = 'int',
    unit = '',
    description = '',
  ): MetricGauge {
    return tagless<MetricGauge>({ name, unit, description }, 'gauge', valueType, {
      set: (value, tags) => void this.values.set(this.key(name, tags), value),
    });
  }

  createHistogram(
    name: string,
    valueType: NumericMetricValueType = 'int',
    unit = '',
    description = '',
  ): MetricHistogram {
    return tagless<MetricHistogram>({ name, unit, description }, 'histogram', valueType, {
      record: () => undefined,
    });
  }

  withTags(): MetricMeter {
    return this;
  }
}

type Instrument = MetricCounter | MetricGauge | MetricHistogram;

/**
 * One metric of the recording meter, its own `withTags` (tags are given with each value instead): the
 * part every kind shares, with the kind's own method in `record`.
 */
function tagless<M extends Instrument>(
  about: Pick<M, 'name' | 'unit' | 'description'>,
  kind: M['kind'],
  valueType: M['valueType'],
  record: Omit<M, keyof Metric | 'withTags'>,
): M {
  const metric = { ...about, kind, valueType, ...record, withTags: () => metric } as unknown as M;
  return metric;
}
