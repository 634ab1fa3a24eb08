import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AppUninstalls } from '../shared-state/app-uninstalls.js';
import { CloudError } from '../common/cloud-error.js';
import { generateApiKey, sha256Hex } from '../common/crypto.util.js';
import { assertStorable } from '../persistence/key.guard.js';
import {
  APP_REPOSITORY,
  DuplicateKeyError,
  type AppPreviewImage,
  type AppTool,
  USER_REPOSITORY,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { AdminGuard } from './admin.guard.js';
import { AppView, CreateAppDto, CreatedAppView, PackageParams, UpdateAppDto } from './dto/app.dto.js';
import { UnsafeKeysInterceptor } from './unsafe-keys.interceptor.js';

@ApiTags('admin: apps')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/admin/apps')
export class AdminAppsController {
  constructor(
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    private readonly uninstalls: AppUninstalls,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Register an app; its API key is returned once' })
  @ApiCreatedResponse({ type: CreatedAppView })
  async create(@Body() dto: CreateAppDto): Promise<CreatedAppView> {
    assertStorableSettings(dto.settings);
    assertUniqueToolIds(dto.tools);
    const apiKey = generateApiKey();
    try {
      const app = await this.apps.create({
        packageName: dto.packageName,
        name: dto.name ?? dto.packageName,
        // Optional fields sent as null are absent, not stored as null.
        description: dto.description ?? undefined,
        publicUrl: dto.publicUrl.replace(/\/+$/, ''),
        webviewURL: dto.webviewURL ?? undefined,
        logoURL: dto.logoURL ?? undefined,
        appType: dto.appType ?? 'background',
        permissions: (dto.permissions ?? []).map((p) => ({ ...p })),
        hardwareRequirements: (dto.hardwareRequirements ?? []).map((h) => ({ ...h })),
        settings: (dto.settings ?? []).map((s) => ({ ...s })),
        // Stored as given: JSON copies, so no DTO class instances reach the store.
        ...(dto.tools !== undefined ? { tools: JSON.parse(JSON.stringify(dto.tools)) as AppTool[] } : {}),
        ...(dto.version !== undefined && dto.version !== null ? { version: dto.version } : {}),
        ...(dto.previewImages !== undefined
          ? { previewImages: JSON.parse(JSON.stringify(dto.previewImages)) as AppPreviewImage[] }
          : {}),
        hashedApiKey: sha256Hex(apiKey),
      });
      return { app: AppView.of(app), apiKey };
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw new CloudError('CONFLICT', `App ${dto.packageName} already exists`);
      throw err;
    }
  }

  @Get()
  @ApiOperation({ summary: 'List apps' })
  @ApiOkResponse({ type: [AppView] })
  async list(): Promise<AppView[]> {
    return (await this.apps.list()).map((a) => AppView.of(a));
  }

  @Get(':packageName')
  @ApiOkResponse({ type: AppView })
  async get(@Param() { packageName }: PackageParams): Promise<AppView> {
    const app = await this.apps.findByPackageName(packageName);
    if (!app) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    return AppView.of(app);
  }

  @Patch(':packageName')
  @ApiOperation({ summary: 'Change an app (not its package name or key)' })
  @ApiOkResponse({ type: AppView })
  async update(@Param() { packageName }: PackageParams, @Body() dto: UpdateAppDto): Promise<AppView> {
    // PartialType's @IsOptional lets null through every validator; stored, it would blank required fields.
    const nulls = Object.entries(dto)
      .filter(([, v]) => v === null)
      .map(([k]) => `${k} must not be null`);
    if (nulls.length > 0) throw new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message: nulls });
    if (dto.packageName !== undefined && dto.packageName !== packageName)
      throw new CloudError('MALFORMED_MESSAGE', 'packageName cannot be changed');
    assertStorableSettings(dto.settings);
    assertUniqueToolIds(dto.tools);
    const { packageName: _ignored, ...patch } = dto;
    if (patch.publicUrl) patch.publicUrl = patch.publicUrl.replace(/\/+$/, '');
    const app = await this.apps.update(packageName, JSON.parse(JSON.stringify(patch)) as typeof patch);
    if (!app) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    return AppView.of(app);
  }

  @Delete(':packageName')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an app: it is stopped everywhere and uninstalled from every user' })
  @ApiNoContentResponse()
  async remove(@Param() { packageName }: PackageParams): Promise<void> {
    const deleted = await this.apps.delete(packageName);
    if (!deleted) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    await this.uninstalls.stop(packageName, null);
    await this.users.removeAppEverywhere(packageName);
  }

  @Post(':packageName/api-key')
  @ApiOperation({ summary: 'Rotate the API key; the old one stops working at once' })
  @ApiCreatedResponse({ type: CreatedAppView })
  async rotate(@Param() { packageName }: PackageParams): Promise<CreatedAppView> {
    const apiKey = generateApiKey();
    const app = await this.apps.update(packageName, { hashedApiKey: sha256Hex(apiKey) });
    if (!app) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    return { app: AppView.of(app), apiKey };
  }
}

/**
 * Settings entries carry free JSON (defaultValue, value, options). A key the stores cannot keep (`$…`, `a.b`)
 * is the caller's mistake: 400 here rather than the repository's TypeError surfacing as a 500.
 */
function assertStorableSettings(settings: unknown): void {
  if (settings === undefined || settings === null) return;
  try {
    assertStorable(JSON.parse(JSON.stringify(settings)), 'settings');
  } catch (err) {
    if (err instanceof TypeError)
      throw new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message: [err.message] });
    throw err;
  }
}

/** Tools are called by id: two with one id would make the call ambiguous. */
function assertUniqueToolIds(tools: { id: string }[] | undefined | null): void {
  if (!tools) return;
  const seen = new Set<string>();
  for (const t of tools) {
    if (seen.has(t.id))
      throw new BadRequestException({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: [`tool id ${t.id} appears twice`],
      });
    seen.add(t.id);
  }
}
