import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Renders the Grafana dashboard's panels without Grafana: each panel's PromQL, exactly as in
 * ops/grafana/dashboards/saga.json, is sent to a real Prometheus (/api/v1/query_range) and the series
 * drawn with vega-lite into one SVG. Grafana's `$__rate_interval` is the only substitution (Grafana
 * computes it from the scrape interval and the panel width; here it is given).
 */
export const DASHBOARD_FILE = path.resolve(__dirname, '../../ops/grafana/dashboards/saga.json');

const dashboardSchema = z.object({
  title: z.string(),
  panels: z.array(
    z.object({
      title: z.string(),
      fieldConfig: z.object({ defaults: z.object({ unit: z.string().optional() }) }).optional(),
      targets: z.array(z.object({ expr: z.string(), legendFormat: z.string().optional() })).min(1),
    }),
  ),
});
export type Dashboard = z.infer<typeof dashboardSchema>;

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return dashboardSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

const rangeResponseSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('matrix'),
    result: z.array(
      z.object({
        metric: z.record(z.string(), z.string()),
        values: z.array(z.tuple([z.number(), z.string()])),
      }),
    ),
  }),
});

export interface RenderOptions {
  prometheusUrl: string;
  start: Date;
  end: Date;
  /** Seconds between points. */
  stepSeconds: number;
  /** What `$__rate_interval` stands for, e.g. "1m". */
  rateInterval: string;
}

export interface PanelData {
  title: string;
  unit: string;
  /** The PromQL sent, after substitution. */
  queries: string[];
  points: { time: Date; series: string; value: number }[];
  seriesCount: number;
}

export function substitute(expr: string, rateInterval: string): string {
  return expr.replaceAll('$__rate_interval', rateInterval);
}

/** `{{saga}} {{outcome}}` with a series' labels; the label set itself when there is no format. */
export function legendOf(format: string | undefined, metric: Record<string, string>): string {
  if (!format) return JSON.stringify(metric);
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_match, label: string) => metric[label] ?? '').trim();
}

export async function queryPanels(dashboard: Dashboard, options: RenderOptions): Promise<PanelData[]> {
  const panels: PanelData[] = [];
  for (const panel of dashboard.panels) {
    const queries = panel.targets.map((target) => substitute(target.expr, options.rateInterval));
    const points: PanelData['points'] = [];
    let seriesCount = 0;
    for (const [index, target] of panel.targets.entries()) {
      const url = new URL('/api/v1/query_range', options.prometheusUrl);
      url.search = new URLSearchParams({
        query: queries[index] as string,
        start: String(options.start.getTime() / 1000),
        end: String(options.end.getTime() / 1000),
        step: String(options.stepSeconds),
      }).toString();
      const response = await fetch(url);
      if (!response.ok)
        throw new Error(`${panel.title}: Prometheus answered ${response.status}: ${await response.text()}`);
      const { data } = rangeResponseSchema.parse(await response.json());
      seriesCount += data.result.length;
      for (const series of data.result) {
        const name = legendOf(target.legendFormat, series.metric);
        for (const [time, value] of series.values) {
          const number = Number(value);
          if (Number.isFinite(number))
            points.push({ time: new Date(time * 1000), series: name, value: number });
        }
      }
    }
    panels.push({
      title: panel.title,
      unit: panel.fieldConfig?.defaults.unit ?? 'short',
      queries,
      points,
      seriesCount,
    });
  }
  return panels;
}

const UNIT_TITLES: Record<string, string> = { s: 'seconds', short: '' };

/** The panels as a two-column grid of line charts, like the dashboard's layout; `; ` splits the subtitle into lines. */
export async function renderSvg(
  title: string,
  panels: PanelData[],
  subtitle: string,
  range: { start: Date; end: Date },
): Promise<string> {
  const vega = await import('vega');
  // vega-lite ships ES modules only, typed for node16 resolution: load it untyped.
  const vl = (await import('vega-lite' as string)) as { compile(spec: unknown): { spec: unknown } };
  const { spec } = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: subtitle.split('; '), anchor: 'start' },
    columns: 2,
    concat: panels.map((panel) => ({
      title: panel.points.length > 0 ? panel.title : `${panel.title} (no data)`,
      width: 300,
      height: 160,
      data: { values: panel.points.map((p) => ({ ...p, time: p.time.toISOString() })) },
      mark: { type: 'line', interpolate: 'step-after', point: false },
      encoding: {
        x: {
          field: 'time',
          type: 'temporal',
          title: null,
          axis: { format: '%H:%M:%S', tickCount: 5 },
          scale: { domain: [range.start.toISOString(), range.end.toISOString()] },
        },
        y: { field: 'value', type: 'quantitative', title: UNIT_TITLES[panel.unit] ?? panel.unit },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          legend: { orient: 'bottom', columns: 2, labelLimit: 200 },
        },
      },
    })),
    resolve: { scale: { color: 'independent', y: 'independent' }, legend: { color: 'independent' } },
  });
  const view = new vega.View(vega.parse(spec as never), { renderer: 'none' });
  return view.toSVG();
}
